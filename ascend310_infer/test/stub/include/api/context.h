/** TEST DOUBLE of MindSpore's include/api/context.h (see stub types.h). */
#ifndef FCN4_TEST_STUB_INCLUDE_API_CONTEXT_H_
#define FCN4_TEST_STUB_INCLUDE_API_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "include/api/types.h"

namespace mindspore {

class DeviceInfoContext {
 public:
  virtual ~DeviceInfoContext() = default;
};

class AscendDeviceInfo : public DeviceInfoContext {
 public:
  void SetDeviceID(uint32_t device_id) { device_id_ = device_id; }
  uint32_t GetDeviceID() const { return device_id_; }

 private:
  uint32_t device_id_ = 0;
};
using Ascend310DeviceInfo = AscendDeviceInfo;

// MindSpore Lite's CPU and GPU devices.
class CPUDeviceInfo : public DeviceInfoContext {};

class GPUDeviceInfo : public DeviceInfoContext {
 public:
  void SetDeviceID(uint32_t device_id) { device_id_ = device_id; }

 private:
  uint32_t device_id_ = 0;
};

class Context {
 public:
  std::vector<std::shared_ptr<DeviceInfoContext>> &MutableDeviceInfo() { return device_info_; }
  void SetThreadNum(int32_t thread_num) { thread_num_ = thread_num; }
  int32_t GetThreadNum() const { return thread_num_; }

 private:
  std::vector<std::shared_ptr<DeviceInfoContext>> device_info_;
  int32_t thread_num_ = 2;
};

}  // namespace mindspore

#endif  // FCN4_TEST_STUB_INCLUDE_API_CONTEXT_H_
