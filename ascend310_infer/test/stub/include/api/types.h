/**
 * TEST DOUBLE of the MindSpore C++ API (include/api/{context,model,serialization,types}.h),
 * NOT the real SDK.
 *
 * It declares only the subset main.cc uses, with the real signatures, so that
 * main.cc compiles and its control flow (flag checks, file loop, output
 * naming, perf summary) runs in CI without the SDK or an Ascend card.
 * The fake "MindIR" is a text file "<input_bytes> <num_outputs>"; Predict
 * returns num_outputs copies of the input bytes.
 */
#ifndef FCN4_TEST_STUB_INCLUDE_API_TYPES_H_
#define FCN4_TEST_STUB_INCLUDE_API_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace mindspore {

enum StatusCode : uint32_t { kSuccess = 0, kMEFailed = 0x20000001u };

class Status {
 public:
  Status(enum StatusCode code = kSuccess, const std::string &msg = "")  // NOLINT(runtime/explicit)
      : code_(code), msg_(msg) {}
  std::string ToString() const { return msg_; }
  bool operator!=(enum StatusCode other) const { return code_ != other; }

 private:
  enum StatusCode code_;
  std::string msg_;
};

enum class ModelType : uint32_t { kMindIR = 0 };
enum class DataType : int { kNumberTypeFloat32 = 43 };

class MSTensor {
 public:
  MSTensor() = default;
  MSTensor(const std::string &name, enum DataType type, const std::vector<int64_t> &shape, const void *data,
           size_t data_len)
      : name_(name), type_(type), shape_(shape), bytes_(std::make_shared<std::vector<char>>(data_len)) {
    if (data != nullptr && data_len > 0) {
      std::memcpy(bytes_->data(), data, data_len);
    }
  }
  std::string Name() const { return name_; }
  enum DataType DataType() const { return type_; }
  const std::vector<int64_t> &Shape() const { return shape_; }
  std::shared_ptr<const void> Data() const {
    return bytes_ ? std::shared_ptr<const void>(bytes_, bytes_->data()) : nullptr;
  }
  size_t DataSize() const { return bytes_ ? bytes_->size() : 0; }

 private:
  std::string name_;
  enum DataType type_ = DataType::kNumberTypeFloat32;
  std::vector<int64_t> shape_;
  std::shared_ptr<std::vector<char>> bytes_;
};

}  // namespace mindspore

#endif  // FCN4_TEST_STUB_INCLUDE_API_TYPES_H_
