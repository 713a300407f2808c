/**
 * FCN-4 inference on Ascend 310 with the MindSpore C++ API.
 *
 * Runs every preprocessed "*.bin" batch of --input0_path (sorted by name)
 * through the model, writes output j of "name.bin" to
 * "./result_Files/name_j.bin" and the mean Predict latency to
 * "./time_Result/test_perform_static.txt", as the model-zoo protocol expects.
 *
 * Two SDKs: MindSpore's own C++ SDK (1.x-2.3) loads a MindIR and builds a
 * GraphCell, as the zoo app does; MindSpore Lite (FCN4_LITE, set by CMake)
 * builds from the model file (export.py --file_format LITE), on Ascend310,
 * CPU or GPU.
 *
 * With --serve it reads batches from stdin and answers on stdout instead
 * (inc/serve_protocol.h): one process that builds the model once and scores
 * every batch of a tagging run (src/inference/lite_app.py drives it).
 */
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "include/api/context.h"
#include "include/api/model.h"
#include "include/api/serialization.h"
#include "include/api/types.h"
#include "inc/fs_compat.h"
#include "inc/serve_protocol.h"
#include "inc/utils.h"

DEFINE_string(mindir_path, "", "the exported FCN-4 model (MindIR; with MindSpore Lite the .mslite of export.py)");
DEFINE_string(input0_path, ".", "folder holding the preprocessed *.bin inputs");
DEFINE_int32(device_id, 0, "Ascend (or GPU) device id");
DEFINE_string(device_target, "Ascend310", "Ascend310, or with MindSpore Lite also CPU or GPU");
DEFINE_bool(serve, false, "score batches read from stdin, answering on stdout, until end of input (no .bin files)");
DEFINE_int32(threads, 0, "with MindSpore Lite: CPU threads of the model (0: Lite's default)");

namespace {

using mindspore::MSTensor;
using mindspore::Status;

// The context entry of the device the model runs on.
std::shared_ptr<mindspore::DeviceInfoContext> DeviceInfo(fcn4::Device device, int32_t device_id) {
#ifdef FCN4_LITE
  if (device == fcn4::Device::kCPU) {
    return std::make_shared<mindspore::CPUDeviceInfo>();
  }
  if (device == fcn4::Device::kGPU) {
    auto gpu = std::make_shared<mindspore::GPUDeviceInfo>();
    gpu->SetDeviceID(static_cast<uint32_t>(device_id));
    return gpu;
  }
#else
  if (device != fcn4::Device::kAscend310) {
    throw std::invalid_argument("--device_target=" + FLAGS_device_target +
                                " needs the app built against MindSpore Lite; the MindSpore C++ SDK build runs on "
                                "Ascend310 only");
  }
#endif
  // Ascend310DeviceInfo is an alias of AscendDeviceInfo in MindSpore >= 1.6
  // and Lite, and the only name that exists in 1.2-1.5 SDKs.
  auto ascend310 = std::make_shared<mindspore::Ascend310DeviceInfo>();
  ascend310->SetDeviceID(static_cast<uint32_t>(device_id));
  return ascend310;
}

// Loads the model and compiles it for `device` number `device_id`.
void BuildModel(const std::string &model_path, fcn4::Device device, int32_t device_id, mindspore::Model *model) {
  auto context = std::make_shared<mindspore::Context>();
  context->MutableDeviceInfo().push_back(DeviceInfo(device, device_id));
#ifdef FCN4_LITE
  if (FLAGS_threads > 0) {
    context->SetThreadNum(FLAGS_threads);
  }
  // Lite answers Build(GraphCell) with "Unsupported Feature": it builds from the file.
  Status ret = model->Build(model_path, mindspore::ModelType::kMindIR, context);
  const std::string what = "the model '" + model_path + "'";
#else
  mindspore::Graph graph;
  Status ret = mindspore::Serialization::Load(model_path, mindspore::ModelType::kMindIR, &graph);
  if (ret != mindspore::kSuccess) {
    throw std::runtime_error("cannot load MindIR '" + model_path + "': " + ret.ToString());
  }
  ret = model->Build(mindspore::GraphCell(graph), context);
  const std::string what = "the model";
#endif
  if (ret != mindspore::kSuccess) {
    throw std::runtime_error("cannot build " + what + " on " + FLAGS_device_target + " device " +
                             std::to_string(device_id) + ": " + ret.ToString());
  }
}

// FCN-4 has exactly one input (the log-mel batch); anything else means the
// MindIR is not the exported FCN-4 graph.
MSTensor SingleModelInput(mindspore::Model *model) {
  std::vector<MSTensor> inputs = model->GetInputs();
  if (inputs.size() != 1) {
    throw std::runtime_error("the model has " + std::to_string(inputs.size()) + " inputs, FCN-4 expects 1");
  }
  return inputs[0];
}

// Writes output j of input "<dir>/<stem>.bin" to "./result_Files/<stem>_<j>.bin".
void WriteOutputs(const std::string &input_path, const std::vector<MSTensor> &outputs) {
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    const auto data = outputs[j].Data();
    if (data == nullptr) {
      throw std::runtime_error("output " + std::to_string(j) + " of '" + input_path + "' holds no data");
    }
    const fcn4::fs::path path = fcn4::fs::path(fcn4::kResultDir) / fcn4::OutputFileName(input_path, j);
    fcn4::WriteFileAtomic(path.string(), data.get(), outputs[j].DataSize());
  }
}

// Feeds one preprocessed batch to the model, writes its outputs and returns
// the Predict latency in ms (file I/O excluded, as in the reference).
double InferOne(mindspore::Model *model, const MSTensor &model_input, const std::string &input_path) {
  const std::vector<char> buffer = fcn4::ReadBinaryFile(input_path);
  if (buffer.size() != model_input.DataSize()) {
    throw std::runtime_error("'" + input_path + "' holds " + std::to_string(buffer.size()) +
                             " bytes but the model input needs " + std::to_string(model_input.DataSize()) +
                             " (batch size or feature shape differs from the export)");
  }
  std::vector<MSTensor> inputs;
  inputs.emplace_back(model_input.Name(), model_input.DataType(), model_input.Shape(), buffer.data(),
                      buffer.size());
  std::vector<MSTensor> outputs;

  const auto start = std::chrono::steady_clock::now();
  const Status ret = model->Predict(inputs, &outputs);
  const auto end = std::chrono::steady_clock::now();
  if (ret != mindspore::kSuccess) {
    throw std::runtime_error("Predict failed on '" + input_path + "': " + ret.ToString());
  }
  WriteOutputs(input_path, outputs);
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// Gives the model's single input the shape `wanted` (another batch of the
// same rows); `current` is its shape now.
void ReshapeInput(mindspore::Model *model, const std::vector<int64_t> &current, const std::vector<int64_t> &wanted) {
  if (wanted.size() != current.size() || !std::equal(wanted.begin() + 1, wanted.end(), current.begin() + 1)) {
    throw std::runtime_error("a batch of shape " + fcn4::FormatShape(wanted) + " does not fit the model input " +
                             fcn4::FormatShape(current) + " (only the batch may differ)");
  }
#ifdef FCN4_LITE
  const Status ret = model->Resize(model->GetInputs(), {wanted});
  if (ret != mindspore::kSuccess) {
    throw std::runtime_error("cannot resize the model input to " + fcn4::FormatShape(wanted) + ": " +
                             ret.ToString());
  }
#else
  (void)model;
  throw std::runtime_error("this build (MindSpore's C++ SDK) takes batches of the export's size only: " +
                           fcn4::FormatShape(current));
#endif
}

// The model's outputs on one batch, as the protocol sends them.
std::vector<fcn4::WireTensor> PredictWire(mindspore::Model *model, const MSTensor &model_input,
                                          const fcn4::WireTensor &batch) {
  std::vector<MSTensor> inputs;
  inputs.emplace_back(model_input.Name(), model_input.DataType(), batch.shape, batch.data.data(), batch.data.size());
  std::vector<MSTensor> outputs;
  const Status ret = model->Predict(inputs, &outputs);
  if (ret != mindspore::kSuccess) {
    throw std::runtime_error("Predict failed: " + ret.ToString());
  }
  std::vector<fcn4::WireTensor> wire(outputs.size());
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    const auto data = outputs[j].Data();
    if (data == nullptr || outputs[j].DataSize() != fcn4::Float32Bytes(outputs[j].Shape())) {
      throw std::runtime_error("output " + std::to_string(j) + " is not a float32 tensor of shape " +
                               fcn4::FormatShape(outputs[j].Shape()));
    }
    wire[j].shape = outputs[j].Shape();
    const char *bytes = static_cast<const char *>(data.get());
    wire[j].data.assign(bytes, bytes + outputs[j].DataSize());
  }
  return wire;
}

// --serve: answers every batch on stdin until end of input. A batch that
// fails gets an error reply and the app goes on; a broken stream ends it.
void Serve(mindspore::Model *model) {
  // stdout carries only replies: whatever the SDK prints there goes to stderr.
  const int reply_fd = dup(STDOUT_FILENO);
  std::FILE *replies = reply_fd < 0 ? nullptr : fdopen(reply_fd, "wb");
  if (replies == nullptr || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    throw std::runtime_error("cannot keep stdout for the replies of --serve");
  }
  MSTensor model_input = SingleModelInput(model);
  std::vector<int64_t> shape = model_input.Shape();
  fcn4::WriteHello(replies, shape);
  fcn4::WireTensor batch;
  while (fcn4::ReadRequest(stdin, &batch)) {
    std::vector<fcn4::WireTensor> outputs;
    std::string error;
    try {
      if (batch.shape != shape) {
        ReshapeInput(model, shape, batch.shape);
        model_input = SingleModelInput(model);
        shape = batch.shape;
      }
      outputs = PredictWire(model, model_input, batch);
    } catch (const std::runtime_error &e) {
      error = e.what();
    }
    if (error.empty()) {
      fcn4::WriteOutputs(replies, outputs);
    } else {
      fcn4::WriteError(replies, error);
    }
  }
  std::fclose(replies);
}

void Run() {
  const fcn4::Device device = fcn4::ParseDevice(FLAGS_device_target);
  if (FLAGS_serve) {
    fcn4::ValidateModelFlags(FLAGS_mindir_path, FLAGS_device_id);
    mindspore::Model model;
    BuildModel(FLAGS_mindir_path, device, FLAGS_device_id, &model);
    Serve(&model);
    return;
  }
  fcn4::ValidateFlags(FLAGS_mindir_path, FLAGS_input0_path, FLAGS_device_id);
  const std::vector<std::string> files = fcn4::ListBinFiles(FLAGS_input0_path);
  if (files.empty()) {
    throw std::runtime_error("no .bin file in '" + FLAGS_input0_path + "' (run preprocess.py first)");
  }
  fcn4::EnsureDir(fcn4::kResultDir);

  mindspore::Model model;
  BuildModel(FLAGS_mindir_path, device, FLAGS_device_id, &model);
  const MSTensor model_input = SingleModelInput(&model);

  fcn4::LatencyStats stats;
  for (const std::string &file : files) {
    std::cout << "Start predict input file: " << file << std::endl;
    stats.Add(InferOne(&model, model_input, file));
  }
  fcn4::WritePerfSummary(fcn4::kTimeDir, stats);
  std::cout << fcn4::FormatPerfSummary(stats);
}

}  // namespace

int main(int argc, char **argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    Run();
  } catch (const std::exception &e) {
    std::cerr << "ERROR: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
