/**
 * TEST DOUBLE of <gflags/gflags.h>, NOT the real library: just the
 * DEFINE_string / DEFINE_int32 / DEFINE_bool / ParseCommandLineFlags subset main.cc uses,
 * accepting "--name=value" like gflags and exiting 1 on an unknown or
 * malformed flag, as gflags does.
 */
#ifndef FCN4_TEST_STUB_GFLAGS_GFLAGS_H_
#define FCN4_TEST_STUB_GFLAGS_GFLAGS_H_

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace gflags {
namespace stub {

struct Flag {
  std::string *str = nullptr;
  int32_t *i32 = nullptr;
  bool *boolean = nullptr;
};

inline std::map<std::string, Flag> &Registry() {
  static std::map<std::string, Flag> registry;
  return registry;
}

struct Registrar {
  Registrar(const char *name, std::string *value) { Registry()[name].str = value; }
  Registrar(const char *name, int32_t *value) { Registry()[name].i32 = value; }
  Registrar(const char *name, bool *value) { Registry()[name].boolean = value; }
};

[[noreturn]] inline void Die(const std::string &message) {
  std::cerr << "ERROR: " << message << std::endl;
  std::exit(1);
}

inline void SetFlag(const std::string &arg) {
  const auto eq = arg.find('=');
  if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
    Die("stub gflags only accepts --name=value, got '" + arg + "'");
  }
  const auto it = Registry().find(arg.substr(2, eq - 2));
  if (it == Registry().end()) {
    Die("unknown command line flag '" + arg.substr(2, eq - 2) + "'");
  }
  const std::string value = arg.substr(eq + 1);
  if (it->second.str != nullptr) {
    *it->second.str = value;
    return;
  }
  if (it->second.boolean != nullptr) {
    if (value != "true" && value != "false") {
      Die("illegal value '" + value + "' specified for bool flag '" + it->first + "'");
    }
    *it->second.boolean = value == "true";
    return;
  }
  char *end = nullptr;
  const long parsed = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0') {
    Die("illegal value '" + value + "' specified for int32 flag '" + it->first + "'");
  }
  *it->second.i32 = static_cast<int32_t>(parsed);
}

}  // namespace stub

inline uint32_t ParseCommandLineFlags(int *argc, char ***argv, bool /*remove_flags*/) {
  for (int i = 1; i < *argc; ++i) {
    stub::SetFlag((*argv)[i]);
  }
  return static_cast<uint32_t>(*argc);
}

}  // namespace gflags

#define DEFINE_string(name, value, help) \
  std::string FLAGS_##name = (value);    \
  static gflags::stub::Registrar registrar_##name(#name, &FLAGS_##name)
#define DEFINE_int32(name, value, help) \
  int32_t FLAGS_##name = (value);       \
  static gflags::stub::Registrar registrar_##name(#name, &FLAGS_##name)
#define DEFINE_bool(name, value, help) \
  bool FLAGS_##name = (value);         \
  static gflags::stub::Registrar registrar_##name(#name, &FLAGS_##name)

#endif  // FCN4_TEST_STUB_GFLAGS_GFLAGS_H_
