/**
 * The filesystem library under one name, fcn4::fs: std::filesystem, or the
 * Filesystem TS (std::experimental::filesystem) on GCC 7, which many Ascend
 * toolkit hosts still compile with (e.g. GCC 7.3 on EulerOS) and which has no
 * <filesystem>. Code here uses only the part common to both. Define
 * FCN4_EXPERIMENTAL_FS to take the TS branch on a newer compiler (CI does, so
 * that branch stays compiled and tested).
 */
#ifndef FCN4_ASCEND310_INFER_INC_FS_COMPAT_H_
#define FCN4_ASCEND310_INFER_INC_FS_COMPAT_H_

#if defined(FCN4_EXPERIMENTAL_FS) || (defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 8)
#include <experimental/filesystem>
namespace fcn4 {
namespace fs = std::experimental::filesystem;
}  // namespace fcn4
#else
#include <filesystem>
namespace fcn4 {
namespace fs = std::filesystem;
}  // namespace fcn4
#endif

#endif  // FCN4_ASCEND310_INFER_INC_FS_COMPAT_H_
