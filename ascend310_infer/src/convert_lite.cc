/**
 * ONNX -> MindSpore Lite model, through Lite's converter library.
 *
 *   convert_lite MODEL.onnx OUTPUT
 *
 * writes OUTPUT.mindir, the MindIR that Lite's runtime (and main, built
 * against Lite) builds from; export.py --file_format LITE runs it. A tool of
 * its own because the converter library's Python binding exists only for the
 * Python 3.7 of the mindspore-lite 2.0 wheel. Fusion is off: the fused graph
 * keeps every conv weight twice, and gives the same outputs.
 */
#include <iostream>
#include <string>
#include <vector>

#include "inc/lite_converter.h"

namespace {

std::vector<char> Chars(const std::string &text) { return std::vector<char>(text.begin(), text.end()); }

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " MODEL.onnx OUTPUT  (writes OUTPUT.mindir)" << std::endl;
    return 2;
  }
  mindspore::Converter converter(mindspore::converter::kFmkTypeOnnx, Chars(argv[1]), Chars(argv[2]), Chars(""));
  converter.SetSaveType(mindspore::ModelType::kMindIR);
  converter.SetNoFusion(true);
  const mindspore::Status status = converter.Convert();
  if (status != mindspore::kSuccess) {
    std::cerr << "ERROR: cannot convert '" << argv[1] << "': " << status.ToString() << std::endl;
    return 1;
  }
  return 0;
}
