/** TEST DOUBLE of MindSpore's include/api/model.h (see stub types.h). */
#ifndef FCN4_TEST_STUB_INCLUDE_API_MODEL_H_
#define FCN4_TEST_STUB_INCLUDE_API_MODEL_H_

#include <cstddef>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "include/api/context.h"
#include "include/api/types.h"

namespace mindspore {

// The fake graph: how many input bytes it takes and how many outputs it gives.
// Its input is float32 of shape {batch, input_bytes / 4 / batch}, batch 1 unless
// Resize changed it (MindSpore Lite's way to take another batch).
class Graph {
 public:
  size_t input_bytes = 0;
  size_t num_outputs = 0;
  int64_t batch = 1;
};

// Reads the fake model file "<input_bytes> <num_outputs>".
inline Status ReadFakeGraph(const std::string &file, Graph *graph) {
  std::ifstream in(file);
  if (!(in >> graph->input_bytes >> graph->num_outputs)) {
    return Status(kMEFailed, "stub: '" + file + "' is not '<input_bytes> <num_outputs>'");
  }
  return Status();
}

class GraphCell {
 public:
  explicit GraphCell(const Graph &graph) : graph_(graph) {}
  const Graph &GetGraph() const { return graph_; }

 private:
  Graph graph_;
};

class Model {
 public:
  Status Build(GraphCell graph, const std::shared_ptr<Context> &model_context = nullptr) {
    // Mirrors the real SDK, which needs the Ascend device info to compile.
    if (model_context == nullptr || model_context->MutableDeviceInfo().empty()) {
      return Status(kMEFailed, "stub: no device info in the context");
    }
    graph_ = graph.GetGraph();
    return Status();
  }

  // MindSpore Lite's way: build from the model file.
  Status Build(const std::string &model_path, ModelType /*model_type*/,
               const std::shared_ptr<Context> &model_context = nullptr) {
    if (model_context == nullptr || model_context->MutableDeviceInfo().empty()) {
      return Status(kMEFailed, "stub: no device info in the context");
    }
    return ReadFakeGraph(model_path, &graph_);
  }

  std::vector<MSTensor> GetInputs() {
    const std::vector<int64_t> shape = {graph_.batch, static_cast<int64_t>(graph_.input_bytes / 4) / graph_.batch};
    return {MSTensor("x", DataType::kNumberTypeFloat32, shape, nullptr, graph_.input_bytes)};
  }

  // A new batch for the single input; the row size stays. Batch 0 fails, as
  // an SDK that cannot resize would.
  Status Resize(const std::vector<MSTensor> &inputs, const std::vector<std::vector<int64_t>> &dims) {
    if (inputs.size() != 1 || dims.size() != 1 || dims[0].empty() || dims[0][0] <= 0) {
      return Status(kMEFailed, "stub: cannot resize to that shape");
    }
    const size_t row = graph_.input_bytes / static_cast<size_t>(graph_.batch);
    graph_.batch = dims[0][0];
    graph_.input_bytes = row * static_cast<size_t>(graph_.batch);
    return Status();
  }

  Status Predict(const std::vector<MSTensor> &inputs, std::vector<MSTensor> *outputs) {
    if (inputs.size() != 1 || inputs[0].DataSize() != graph_.input_bytes) {
      return Status(kMEFailed, "stub: wrong inputs");
    }
    outputs->assign(graph_.num_outputs, inputs[0]);
    return Status();
  }

 private:
  Graph graph_;
};

}  // namespace mindspore

#endif  // FCN4_TEST_STUB_INCLUDE_API_MODEL_H_
