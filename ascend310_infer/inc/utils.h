/**
 * SDK-free helpers of the FCN-4 Ascend 310 inference app.
 *
 * Everything here uses the C++17 standard library only, so that it builds and
 * is unit-tested on machines without the MindSpore C++ SDK or an Ascend card.
 * Failures are reported by throwing std::runtime_error / std::invalid_argument
 * with a message that names the offending path or value.
 */
#ifndef FCN4_ASCEND310_INFER_INC_UTILS_H_
#define FCN4_ASCEND310_INFER_INC_UTILS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fcn4 {

// Folder names and file name fixed by the model-zoo protocol (postprocess.py
// and run_infer_310.sh read them from the working directory).
inline constexpr const char *kResultDir = "./result_Files";
inline constexpr const char *kTimeDir = "./time_Result";
inline constexpr const char *kPerfFileName = "test_perform_static.txt";

// Where the model runs: the --device_target values, Ascend310 first (the
// model zoo's only target); CPU and GPU need the MindSpore Lite build.
enum class Device { kAscend310, kCPU, kGPU };

// The Device named by a --device_target value; throws std::invalid_argument
// naming the value and the valid ones.
Device ParseDevice(const std::string &name);

// Throws std::invalid_argument unless mindir_path is an existing regular file
// and device_id non-negative.
void ValidateModelFlags(const std::string &mindir_path, int32_t device_id);

// ValidateModelFlags, and input0_path must be an existing directory.
void ValidateFlags(const std::string &mindir_path, const std::string &input0_path, int32_t device_id);

// "[8, 1, 96, 1366]": a shape as the app's messages show it.
std::string FormatShape(const std::vector<int64_t> &shape);

// Paths of the regular "*.bin" files directly inside dir, sorted by file name
// so that runs are reproducible; other entries are skipped. Throws if dir is
// missing or not a directory.
std::vector<std::string> ListBinFiles(const std::string &dir);

// Whole content of a binary file; throws naming the path if it cannot be read.
std::vector<char> ReadBinaryFile(const std::string &path);

// Writes size bytes to path through "<path>.tmp" + rename, so that a killed
// run never leaves a truncated result for postprocess.py to read.
void WriteFileAtomic(const std::string &path, const void *data, std::size_t size);

// Creates dir and its parents if absent; throws if it cannot.
void EnsureDir(const std::string &dir);

// "<stem>_<output_index>.bin" for the input file "<dir>/<stem>.bin".
std::string OutputFileName(const std::string &input_path, std::size_t output_index);

// Accumulates per-input latencies and reports their mean.
class LatencyStats {
 public:
  void Add(double ms);
  std::size_t Count() const { return count_; }
  // Throws std::logic_error when no latency was added: a mean of nothing
  // would be a misleading 0 in the perf summary.
  double MeanMs() const;

 private:
  double total_ms_ = 0.0;
  std::size_t count_ = 0;
};

// The summary line of the reference app:
// "NN inference cost average time: <mean> ms of infer_count <n>\n".
std::string FormatPerfSummary(const LatencyStats &stats);

// Writes FormatPerfSummary(stats) to "<dir>/test_perform_static.txt",
// creating dir if needed.
void WritePerfSummary(const std::string &dir, const LatencyStats &stats);

}  // namespace fcn4

#endif  // FCN4_ASCEND310_INFER_INC_UTILS_H_
