# main (and with Lite's converter library, convert_lite) against the SDK that
# LITE_PATH or MINDSPORE_PATH names, and gflags; sets FCN4_CXX11_ABI.
# Every "not found" names the MindSpore versions that have the piece.
include(CheckCXXSourceCompiles)

# Found afresh on every configure, so that switching SDK or gflags in one build folder takes effect.
foreach(found SDK_LIBRARY LITE_CONVERTER_LIBRARY LITE_CORE_LIBRARY GFLAGS_OLD_ABI GFLAGS_CXX11_ABI)
  unset(${found} CACHE)
endforeach()

set(SDK_VERSIONS_NOTE "MindSpore wheels ship the C++ SDK up to 2.3.x; from 2.4 on use MindSpore Lite")
if(LITE_PATH)
  # A Lite release has lib/libmindspore-lite.so; the mindspore-lite wheel the
  # same API in lib/libmindspore-extendrt_python.so.
  find_library(SDK_LIBRARY NAMES mindspore-lite mindspore-extendrt_python PATHS ${LITE_PATH}/lib NO_DEFAULT_PATH)
  if(NOT EXISTS "${LITE_PATH}/include/api/model.h" OR NOT SDK_LIBRARY)
    message(FATAL_ERROR "LITE_PATH=${LITE_PATH} has no include/api/model.h and lib/libmindspore-lite.so "
                        "(or lib/libmindspore-extendrt_python.so): not MindSpore Lite (${SDK_VERSIONS_NOTE})")
  endif()
  set(SDK_ROOT ${LITE_PATH})
  set(SDK_KIND "MindSpore Lite")
else()
  foreach(required include/api/model.h lib/libmindspore.so)
    if(NOT EXISTS "${MINDSPORE_PATH}/${required}")
      message(FATAL_ERROR "MINDSPORE_PATH=${MINDSPORE_PATH} has no ${required}: not a MindSpore C++ SDK "
                          "(${SDK_VERSIONS_NOTE})")
    endif()
  endforeach()
  set(SDK_LIBRARY ${MINDSPORE_PATH}/lib/libmindspore.so)
  set(SDK_ROOT ${MINDSPORE_PATH})
  set(SDK_KIND "MindSpore C++ SDK")
endif()
get_filename_component(SDK_LIB_DIR ${SDK_LIBRARY} DIRECTORY)

# Extra prefixes (e.g. a self-built gflags) come through CMAKE_PREFIX_PATH.
find_path(GFLAGS_INCLUDE_DIR gflags/gflags.h)
find_library(GFLAGS_LIBRARY NAMES gflags)
if(NOT GFLAGS_INCLUDE_DIR OR NOT GFLAGS_LIBRARY)
  message(FATAL_ERROR "gflags not found: install it (built with -D_GLIBCXX_USE_CXX11_ABI=0) "
                      "and/or add its prefix to CMAKE_PREFIX_PATH")
endif()
get_filename_component(GFLAGS_LIB_DIR ${GFLAGS_LIBRARY} DIRECTORY)

# Which std::string ABI gflags was built with, found by linking a probe with
# each, before main is compiled: a mismatch otherwise shows up only as
# undefined gflags symbols at the final link.
function(gflags_links abi result)
  set(CMAKE_REQUIRED_DEFINITIONS -D_GLIBCXX_USE_CXX11_ABI=${abi})
  set(CMAKE_REQUIRED_INCLUDES ${GFLAGS_INCLUDE_DIR})
  set(CMAKE_REQUIRED_LIBRARIES ${GFLAGS_LIBRARY})
  set(CMAKE_REQUIRED_QUIET ON)
  check_cxx_source_compiles("#include <gflags/gflags.h>
DEFINE_string(probe, \"\", \"\");
int main(int argc, char **argv) { gflags::ParseCommandLineFlags(&argc, &argv, true); return FLAGS_probe.size(); }"
                            ${result})
endfunction()
gflags_links(0 GFLAGS_OLD_ABI)
gflags_links(1 GFLAGS_CXX11_ABI)
if(SDK_KIND STREQUAL "MindSpore Lite" AND (GFLAGS_CXX11_ABI OR GFLAGS_OLD_ABI))
  set(FCN4_CXX11_ABI 0)
  if(GFLAGS_CXX11_ABI)
    set(FCN4_CXX11_ABI 1)
  endif()
elseif(NOT SDK_KIND STREQUAL "MindSpore Lite" AND MS_OLD_CXX_ABI AND GFLAGS_OLD_ABI)
  set(FCN4_CXX11_ABI 0)
elseif(NOT SDK_KIND STREQUAL "MindSpore Lite" AND NOT MS_OLD_CXX_ABI AND GFLAGS_CXX11_ABI)
  set(FCN4_CXX11_ABI 1)
elseif(GFLAGS_CXX11_ABI OR GFLAGS_OLD_ABI)
  message(FATAL_ERROR "gflags ${GFLAGS_LIBRARY} was built with the other std::string ABI than the MindSpore C++ SDK "
                      "(MS_OLD_CXX_ABI=${MS_OLD_CXX_ABI}): build gflags with -D_GLIBCXX_USE_CXX11_ABI=0 and point "
                      "GFLAGS_PATH at it, or build against MindSpore Lite (LITE_PATH), which takes either")
else()
  message(FATAL_ERROR "gflags ${GFLAGS_LIBRARY} does not link with its header ${GFLAGS_INCLUDE_DIR}/gflags/gflags.h "
                      "under either std::string ABI: reinstall gflags")
endif()
message(STATUS "fcn4: building main against ${SDK_KIND} at ${SDK_ROOT}, gflags ${GFLAGS_LIBRARY} "
               "(_GLIBCXX_USE_CXX11_ABI=${FCN4_CXX11_ABI})")

# The SDK's and gflags' folders are searched at run time through an RPATH (not
# RUNPATH), which also serves the SDK libraries' own dependencies in that folder.
set(FCN4_RPATH_FLAGS "-Wl,-rpath,${SDK_LIB_DIR}:${GFLAGS_LIB_DIR}" -Wl,--disable-new-dtags)

add_executable(main src/main.cc)
# Headers of the SDK include each other as "include/api/..."; as system
# headers, their own warnings stay out of this build's -Wall -Wextra.
target_include_directories(main SYSTEM PRIVATE ${SDK_ROOT} ${SDK_ROOT}/include ${GFLAGS_INCLUDE_DIR})
target_link_libraries(main PRIVATE infer_utils ${SDK_LIBRARY} ${GFLAGS_LIBRARY})
target_link_options(main PRIVATE ${FCN4_RPATH_FLAGS})
if(SDK_KIND STREQUAL "MindSpore Lite")
  target_compile_definitions(main PRIVATE FCN4_LITE)
else()
  # As in the model zoo: libmindspore.so's Ascend toolkit dependencies are not
  # all resolvable at link time, only at run time (set_env.sh sets their path).
  target_link_options(main PRIVATE -Wl,--allow-shlib-undefined)
endif()
set_target_properties(main PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FCN4_OUT_DIR})

if(SDK_KIND STREQUAL "MindSpore Lite")
  # The wheel keeps the converter library beside the runtime, a release under tools/converter/lib.
  find_library(LITE_CONVERTER_LIBRARY mindspore_converter
               PATHS ${SDK_LIB_DIR} ${LITE_PATH}/../tools/converter/lib NO_DEFAULT_PATH)
  if(LITE_CONVERTER_LIBRARY)
    get_filename_component(LITE_CONVERTER_DIR ${LITE_CONVERTER_LIBRARY} DIRECTORY)
    find_library(LITE_CORE_LIBRARY mindspore_core PATHS ${LITE_CONVERTER_DIR} NO_DEFAULT_PATH)
    add_executable(convert_lite src/convert_lite.cc)
    target_include_directories(convert_lite SYSTEM PRIVATE ${SDK_ROOT} ${SDK_ROOT}/include)
    target_include_directories(convert_lite PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(convert_lite PRIVATE ${LITE_CONVERTER_LIBRARY} ${LITE_CORE_LIBRARY})
    target_link_options(convert_lite PRIVATE "-Wl,-rpath,${LITE_CONVERTER_DIR}" -Wl,--disable-new-dtags)
    set_target_properties(convert_lite PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FCN4_OUT_DIR})
  else()
    message(STATUS "fcn4: no libmindspore_converter.so in ${LITE_PATH}: convert_lite not built "
                   "(export.py --file_format LITE needs it; convert with converter_lite instead)")
  endif()
endif()
