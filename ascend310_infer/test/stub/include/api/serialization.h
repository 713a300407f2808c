/** TEST DOUBLE of MindSpore's include/api/serialization.h (see stub types.h). */
#ifndef FCN4_TEST_STUB_INCLUDE_API_SERIALIZATION_H_
#define FCN4_TEST_STUB_INCLUDE_API_SERIALIZATION_H_

#include <string>

#include "include/api/model.h"
#include "include/api/types.h"

namespace mindspore {

class Serialization {
 public:
  // Reads the fake MindIR "<input_bytes> <num_outputs>".
  static Status Load(const std::string &file, ModelType /*model_type*/, Graph *graph) {
    return ReadFakeGraph(file, graph);
  }
};

}  // namespace mindspore

#endif  // FCN4_TEST_STUB_INCLUDE_API_SERIALIZATION_H_
