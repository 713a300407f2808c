/**
 * Unit test of the SDK-free helpers (inc/utils.h); run by ctest with a
 * scratch folder as argv[1]. Plain asserts keep it dependency-free, because
 * GoogleTest is not available on every Ascend host.
 */
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "inc/fs_compat.h"
#include "inc/serve_protocol.h"
#include "inc/utils.h"

namespace fs = fcn4::fs;

namespace {

int g_failures = 0;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond << std::endl; \
      ++g_failures;                                                                   \
    }                                                                                 \
  } while (0)

// True when fn throws an exception of type E whose message contains needle.
template <typename E>
bool ThrowsWith(const std::function<void()> &fn, const std::string &needle) {
  try {
    fn();
  } catch (const E &e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

void Touch(const fs::path &path, const std::string &content = "x") {
  std::ofstream(path, std::ios::binary) << content;
}

void TestListBinFilesSortsAndSkips(const fs::path &scratch) {
  const fs::path dir = scratch / "inputs";
  fs::create_directories(dir / "nested.bin");  // a folder named *.bin must be skipped
  for (const char *name : {"fcn4_bs2_10.bin", "fcn4_bs2_0.bin", "fcn4_bs2_2.bin", "notes.txt", "x.bin.tmp"}) {
    Touch(dir / name);
  }
  const std::vector<std::string> files = fcn4::ListBinFiles(dir.string());
  // Plain name order, as the reference app lists them: "10" sorts before "2".
  const std::vector<std::string> expected = {(dir / "fcn4_bs2_0.bin").string(),
                                             (dir / "fcn4_bs2_10.bin").string(),
                                             (dir / "fcn4_bs2_2.bin").string()};
  CHECK(files == expected);
}

void TestListBinFilesMissingFolder(const fs::path &scratch) {
  const std::string missing = (scratch / "no_such_folder").string();
  CHECK(ThrowsWith<std::runtime_error>([&] { fcn4::ListBinFiles(missing); }, missing));
}

void TestFloatBufferRoundTrip(const fs::path &scratch) {
  const std::vector<float> values = {0.0f, -1.5f, 3.14159f, 1e-30f, -0.0f, 65504.0f, NAN};
  const std::string path = (scratch / "floats.bin").string();
  fcn4::WriteFileAtomic(path, values.data(), values.size() * sizeof(float));
  const std::vector<char> bytes = fcn4::ReadBinaryFile(path);
  // Byte equality, not float ==, so that NaN and -0.0 are checked bit for bit.
  CHECK(bytes.size() == values.size() * sizeof(float) &&
        std::memcmp(bytes.data(), values.data(), bytes.size()) == 0);
  CHECK(!fs::exists(path + ".tmp"));  // the temp file was renamed away
}

void TestWriteFileAtomicReplaces(const fs::path &scratch) {
  const std::string path = (scratch / "replace.bin").string();
  Touch(path, "old content that is longer");
  fcn4::WriteFileAtomic(path, "new", 3);
  const std::vector<char> bytes = fcn4::ReadBinaryFile(path);
  CHECK(std::string(bytes.begin(), bytes.end()) == "new");
}

void TestWriteFileAtomicBadFolder(const fs::path &scratch) {
  const std::string path = (scratch / "no_such_folder" / "out.bin").string();
  CHECK(ThrowsWith<std::runtime_error>([&] { fcn4::WriteFileAtomic(path, "x", 1); }, path));
}

void TestReadMissingFile(const fs::path &scratch) {
  const std::string missing = (scratch / "missing.bin").string();
  CHECK(ThrowsWith<std::runtime_error>([&] { fcn4::ReadBinaryFile(missing); }, missing));
}

void TestEmptyFileReadsEmpty(const fs::path &scratch) {
  const std::string path = (scratch / "empty.bin").string();
  Touch(path, "");
  CHECK(fcn4::ReadBinaryFile(path).empty());
}

void TestOutputFileName() {
  CHECK(fcn4::OutputFileName("./preprocess_Result/00_data/fcn4_bs1_7.bin", 0) == "fcn4_bs1_7_0.bin");
  CHECK(fcn4::OutputFileName("fcn4_bs4_12.bin", 3) == "fcn4_bs4_12_3.bin");
  CHECK(fcn4::OutputFileName("/a.b/c.d.bin", 1) == "c.d_1.bin");
}

void TestLatencyStats() {
  fcn4::LatencyStats stats;
  CHECK(ThrowsWith<std::logic_error>([&] { stats.MeanMs(); }, "no inference latency"));
  stats.Add(1.0);
  stats.Add(2.0);
  stats.Add(6.0);
  CHECK(stats.Count() == 3);
  CHECK(std::fabs(stats.MeanMs() - 3.0) < 1e-12);
  CHECK(fcn4::FormatPerfSummary(stats) == "NN inference cost average time: 3.000 ms of infer_count 3\n");
}

void TestWritePerfSummary(const fs::path &scratch) {
  fcn4::LatencyStats stats;
  stats.Add(0.25);
  const fs::path dir = scratch / "time_Result";  // absent: must be created
  fcn4::WritePerfSummary(dir.string(), stats);
  const std::vector<char> bytes = fcn4::ReadBinaryFile((dir / fcn4::kPerfFileName).string());
  const std::string expected = "NN inference cost average time: 0.250 ms of infer_count 1\n";
  CHECK(std::string(bytes.begin(), bytes.end()) == expected);
}

void TestEnsureDir(const fs::path &scratch) {
  const fs::path dir = scratch / "a" / "b";
  fcn4::EnsureDir(dir.string());
  fcn4::EnsureDir(dir.string());  // idempotent
  CHECK(fs::is_directory(dir));
  const fs::path file = scratch / "plain_file";
  Touch(file);
  CHECK(ThrowsWith<std::runtime_error>([&] { fcn4::EnsureDir(file.string()); }, file.string()));
}

void TestValidateFlags(const fs::path &scratch) {
  const fs::path mindir = scratch / "fcn4.mindir";
  Touch(mindir);
  const std::string dir = scratch.string();
  CHECK(!ThrowsWith<std::exception>([&] { fcn4::ValidateFlags(mindir.string(), dir, 0); }, ""));
  CHECK(ThrowsWith<std::invalid_argument>([&] { fcn4::ValidateFlags("", dir, 0); }, "--mindir_path"));
  CHECK(ThrowsWith<std::invalid_argument>([&] { fcn4::ValidateFlags(dir, dir, 0); }, "--mindir_path"));
  CHECK(ThrowsWith<std::invalid_argument>(
      [&] { fcn4::ValidateFlags(mindir.string(), (scratch / "nope").string(), 0); }, "--input0_path"));
  CHECK(ThrowsWith<std::invalid_argument>(
      [&] { fcn4::ValidateFlags(mindir.string(), dir, -1); }, "--device_id"));
}

void TestParseDevice() {
  CHECK(fcn4::ParseDevice("Ascend310") == fcn4::Device::kAscend310);
  CHECK(fcn4::ParseDevice("CPU") == fcn4::Device::kCPU);
  CHECK(fcn4::ParseDevice("GPU") == fcn4::Device::kGPU);
  CHECK(ThrowsWith<std::invalid_argument>([] { fcn4::ParseDevice("cpu"); }, "--device_target 'cpu'"));
}

// A request as the Python side (src/inference/lite_app.py) writes it.
void WriteRequest(std::FILE *out, const std::vector<int64_t> &shape, const std::vector<float> &values) {
  fcn4::WriteShape(out, shape);
  const uint64_t size = values.size() * sizeof(float);
  fcn4::WriteBytes(out, &size, sizeof(size));
  fcn4::WriteBytes(out, values.data(), size);
}

void TestServeProtocolRoundTrip() {
  std::FILE *stream = std::tmpfile();
  fcn4::WriteHello(stream, {4, 1, 96, 1366});
  WriteRequest(stream, {2, 3}, {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f});
  std::rewind(stream);
  char magic[8];
  fcn4::ReadBytes(stream, magic, sizeof(magic), "the hello");
  CHECK(std::string(magic, sizeof(magic)) == fcn4::kServeMagic);
  CHECK(fcn4::ReadShape(stream) == (std::vector<int64_t>{4, 1, 96, 1366}));
  fcn4::WireTensor request;
  CHECK(fcn4::ReadRequest(stream, &request));
  CHECK(request.shape == (std::vector<int64_t>{2, 3}) && request.data.size() == 6 * sizeof(float));
  float fifth = 0.0f;
  std::memcpy(&fifth, request.data.data() + 4 * sizeof(float), sizeof(float));
  CHECK(fifth == 5.0f);
  CHECK(!fcn4::ReadRequest(stream, &request));  // a clean end of input
  std::fclose(stream);
}

void TestServeProtocolRefusesBrokenRequests() {
  const auto refused = [](const std::function<void(std::FILE *)> &write, const std::string &needle) {
    std::FILE *stream = std::tmpfile();
    write(stream);
    std::rewind(stream);
    fcn4::WireTensor request;
    const bool threw = ThrowsWith<std::runtime_error>([&] { fcn4::ReadRequest(stream, &request); }, needle);
    std::fclose(stream);
    return threw;
  };
  CHECK(refused([](std::FILE *s) { WriteRequest(s, {2, 3}, {1.0f, 2.0f}); }, "declares 8 bytes"));
  CHECK(refused([](std::FILE *s) { fcn4::WriteShape(s, {}); }, "rank 0"));
  CHECK(refused([](std::FILE *s) { fcn4::WriteShape(s, {2, -3}); }, "negative"));
  CHECK(refused([](std::FILE *s) { fcn4::WriteShape(s, {int64_t{1} << 40, int64_t{1} << 40}); }, "more than"));
  CHECK(refused(
      [](std::FILE *s) {
        fcn4::WriteShape(s, {1, 2});
        const uint64_t size = 8;
        fcn4::WriteBytes(s, &size, sizeof(size));
        fcn4::WriteBytes(s, "abc", 3);  // cut short
      },
      "ended inside a tensor"));
}

void TestServeReplies() {
  std::FILE *stream = std::tmpfile();
  fcn4::WriteOutputs(stream, {{{1, 2}, std::vector<char>(8, 'a')}});
  fcn4::WriteError(stream, "bad batch");
  std::rewind(stream);
  uint32_t status = 99;
  uint32_t count = 0;
  fcn4::ReadBytes(stream, &status, sizeof(status), "a status");
  fcn4::ReadBytes(stream, &count, sizeof(count), "a count");
  CHECK(status == fcn4::kServeOk && count == 1);
  CHECK(fcn4::ReadShape(stream) == (std::vector<int64_t>{1, 2}));
  uint64_t size = 0;
  fcn4::ReadBytes(stream, &size, sizeof(size), "a size");
  std::vector<char> data(size);
  fcn4::ReadBytes(stream, data.data(), size, "data");
  CHECK(size == 8 && data[7] == 'a');
  uint32_t length = 0;
  fcn4::ReadBytes(stream, &status, sizeof(status), "a status");
  fcn4::ReadBytes(stream, &length, sizeof(length), "a length");
  std::string message(length, ' ');
  fcn4::ReadBytes(stream, &message[0], length, "a message");
  CHECK(status == fcn4::kServeError && message == "bad batch");
  std::fclose(stream);
}

void TestFormatShape() {
  CHECK(fcn4::FormatShape({8, 1, 96, 1366}) == "[8, 1, 96, 1366]");
  CHECK(fcn4::FormatShape({}) == "[]");
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " SCRATCH_DIR" << std::endl;
    return 2;
  }
  const fs::path scratch = argv[1];
  fs::remove_all(scratch);  // start from a clean folder on reruns
  fs::create_directories(scratch);

  TestListBinFilesSortsAndSkips(scratch);
  TestListBinFilesMissingFolder(scratch);
  TestFloatBufferRoundTrip(scratch);
  TestWriteFileAtomicReplaces(scratch);
  TestWriteFileAtomicBadFolder(scratch);
  TestReadMissingFile(scratch);
  TestEmptyFileReadsEmpty(scratch);
  TestOutputFileName();
  TestLatencyStats();
  TestWritePerfSummary(scratch);
  TestEnsureDir(scratch);
  TestValidateFlags(scratch);
  TestParseDevice();
  TestServeProtocolRoundTrip();
  TestServeProtocolRefusesBrokenRequests();
  TestServeReplies();
  TestFormatShape();

  if (g_failures != 0) {
    std::cerr << g_failures << " check(s) failed" << std::endl;
    return 1;
  }
  std::cout << "all utils checks passed" << std::endl;
  return 0;
}
