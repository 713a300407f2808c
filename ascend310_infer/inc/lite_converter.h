/**
 * The part of MindSpore Lite's converter API that convert_lite uses.
 *
 * The mindspore-lite wheel ships libmindspore_converter.so but not its
 * header. These declarations are the ABI-stable (std::vector<char>) members
 * of class mindspore::Converter as declared in the MindSpore repository's
 * mindspore/lite/include/converter.h at tag v2.0.0 (Apache-2.0), checked
 * against the symbols the 2.0.0 library exports; access specifiers do not
 * change the linked names, so the constructor that header keeps private (its
 * inline std::string overload forwards to it) is declared public here. The
 * class holds one std::shared_ptr, as there, so that its size matches.
 */
#ifndef FCN4_ASCEND310_INFER_INC_LITE_CONVERTER_H_
#define FCN4_ASCEND310_INFER_INC_LITE_CONVERTER_H_

#include <memory>
#include <vector>

#include "include/api/status.h"
#include "include/api/types.h"
#include "include/registry/converter_context.h"

namespace mindspore {

struct ConverterPara;

class MS_API Converter {
 public:
  Converter(converter::FmkType fmk_type, const std::vector<char> &model_file, const std::vector<char> &output_file,
            const std::vector<char> &weight_file);
  ~Converter() = default;

  // Lite 2.0's converter writes "<output_file>.mindir" for kMindIR, the type
  // its runtime builds, and "<output_file>.ms" for kMindIR_Lite.
  void SetSaveType(ModelType save_type);
  // Without fusion, conv weights are stored once (with it: twice, 2x the file).
  void SetNoFusion(bool no_fusion);
  Status Convert();

 private:
  std::shared_ptr<ConverterPara> data_;
};

}  // namespace mindspore

#endif  // FCN4_ASCEND310_INFER_INC_LITE_CONVERTER_H_
