/**
 * SDK-free helpers of the FCN-4 Ascend 310 inference app (see inc/utils.h).
 */
#include "inc/utils.h"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "inc/fs_compat.h"

namespace fcn4 {

void ValidateModelFlags(const std::string &mindir_path, int32_t device_id) {
  std::error_code ec;
  if (mindir_path.empty() || !fs::is_regular_file(mindir_path, ec)) {
    throw std::invalid_argument("--mindir_path '" + mindir_path + "' is not an existing MindIR file");
  }
  if (device_id < 0) {
    throw std::invalid_argument("--device_id must be >= 0, got " + std::to_string(device_id));
  }
}

void ValidateFlags(const std::string &mindir_path, const std::string &input0_path, int32_t device_id) {
  ValidateModelFlags(mindir_path, device_id);
  std::error_code ec;
  if (input0_path.empty() || !fs::is_directory(input0_path, ec)) {
    throw std::invalid_argument("--input0_path '" + input0_path +
                                "' is not an existing folder (run preprocess.py first)");
  }
}

std::string FormatShape(const std::vector<int64_t> &shape) {
  std::ostringstream text;
  text << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text << (i ? ", " : "") << shape[i];
  }
  text << "]";
  return text.str();
}

Device ParseDevice(const std::string &name) {
  if (name == "Ascend310") {
    return Device::kAscend310;
  }
  if (name == "CPU") {
    return Device::kCPU;
  }
  if (name == "GPU") {
    return Device::kGPU;
  }
  throw std::invalid_argument("--device_target '" + name + "' is not one of Ascend310, CPU, GPU");
}

std::vector<std::string> ListBinFiles(const std::string &dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw std::runtime_error("input folder '" + dir + "' does not exist or is not a folder");
  }
  std::vector<fs::path> bins;
  for (const auto &entry : fs::directory_iterator(dir)) {
    // is_regular_file follows symlinks, so linked inputs are accepted too.
    if (fs::is_regular_file(entry.path(), ec) && entry.path().extension() == ".bin") {
      bins.push_back(entry.path());
    }
  }
  // directory_iterator order is unspecified; sort by name for reproducible runs.
  std::sort(bins.begin(), bins.end(),
            [](const fs::path &a, const fs::path &b) { return a.filename() < b.filename(); });
  std::vector<std::string> paths;
  paths.reserve(bins.size());
  for (const auto &p : bins) {
    paths.push_back(p.string());
  }
  return paths;
}

std::vector<char> ReadBinaryFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    throw std::runtime_error("cannot open input file '" + path + "'");
  }
  const std::streamsize size = in.tellg();
  if (size < 0) {
    throw std::runtime_error("cannot get the size of '" + path + "'");
  }
  std::vector<char> buffer(static_cast<std::size_t>(size));
  in.seekg(0, std::ios::beg);
  if (!in.read(buffer.data(), size)) {
    throw std::runtime_error("cannot read " + std::to_string(size) + " bytes from '" + path + "'");
  }
  return buffer;
}

void WriteFileAtomic(const std::string &path, const void *data, std::size_t size) {
  const std::string tmp_path = path + ".tmp";
  {
    std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp_path, ignored);
      throw std::runtime_error("cannot write " + std::to_string(size) + " bytes to '" + tmp_path + "'");
    }
  }
  std::error_code ec;
  fs::rename(tmp_path, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp_path, ignored);
    throw std::runtime_error("cannot rename '" + tmp_path + "' to '" + path + "': " + ec.message());
  }
}

void EnsureDir(const std::string &dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create folder '" + dir + "': " + ec.message());
  }
  // The standard (LWG 2935) lets create_directories report success when a
  // non-folder already holds the name; libstdc++ errors, others may not.
  if (!fs::is_directory(dir, ec)) {
    throw std::runtime_error("cannot create folder '" + dir + "': a file of that name exists");
  }
}

std::string OutputFileName(const std::string &input_path, std::size_t output_index) {
  return fs::path(input_path).stem().string() + "_" + std::to_string(output_index) + ".bin";
}

void LatencyStats::Add(double ms) {
  total_ms_ += ms;
  ++count_;
}

double LatencyStats::MeanMs() const {
  if (count_ == 0) {
    throw std::logic_error("no inference latency was recorded");
  }
  return total_ms_ / static_cast<double>(count_);
}

std::string FormatPerfSummary(const LatencyStats &stats) {
  std::ostringstream line;
  line << "NN inference cost average time: " << std::fixed << std::setprecision(3) << stats.MeanMs()
       << " ms of infer_count " << stats.Count() << "\n";
  return line.str();
}

void WritePerfSummary(const std::string &dir, const LatencyStats &stats) {
  EnsureDir(dir);
  const std::string summary = FormatPerfSummary(stats);
  WriteFileAtomic((fs::path(dir) / kPerfFileName).string(), summary.data(), summary.size());
}

}  // namespace fcn4
