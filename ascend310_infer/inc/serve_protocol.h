/**
 * The wire protocol of `main --serve`: one long-lived app process scores every
 * batch a Python caller sends, over its stdin and stdout (no file per batch,
 * no process per batch). SDK-free, so it is unit-tested without MindSpore.
 *
 * All integers little-endian (the hosts this runs on). After the model is
 * built the app writes a hello: the magic "FCN4SRV1", then the input shape
 * (uint32 rank, int64 dims). Each request is the batch's shape (uint32 rank,
 * int64 dims) and its float32 data (uint64 byte count, bytes). The reply is a
 * uint32 status: kOk, then uint32 output count and per output its shape and
 * data as in a request; or kError, then the message (uint32 length, bytes),
 * after which the app goes on serving. End of input ends the app (exit 0).
 */
#ifndef FCN4_ASCEND310_INFER_INC_SERVE_PROTOCOL_H_
#define FCN4_ASCEND310_INFER_INC_SERVE_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace fcn4 {

inline constexpr char kServeMagic[] = "FCN4SRV1";  // 8 bytes on the wire, no terminator
inline constexpr uint32_t kServeOk = 0;
inline constexpr uint32_t kServeError = 1;
// Bounds on what a request may declare, so a corrupt stream fails cleanly
// instead of allocating without limit.
inline constexpr uint32_t kMaxRank = 8;
inline constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 34;  // 16 GiB

// One tensor on the wire: its shape and its float32 bytes.
struct WireTensor {
  std::vector<int64_t> shape;
  std::vector<char> data;
};

// Bytes a float32 tensor of this shape holds; throws std::runtime_error for a
// negative dimension or more than kMaxTensorBytes.
uint64_t Float32Bytes(const std::vector<int64_t> &shape);

void WriteHello(std::FILE *out, const std::vector<int64_t> &input_shape);

// Reads one request; false at a clean end of input (nothing read), throws
// std::runtime_error for a stream that ends inside a request or declares an
// impossible shape or a byte count that does not match it.
bool ReadRequest(std::FILE *in, WireTensor *request);

void WriteOutputs(std::FILE *out, const std::vector<WireTensor> &outputs);
void WriteError(std::FILE *out, const std::string &message);

// The reading and writing the functions above are made of; exposed for the
// unit test. Each throws std::runtime_error naming what it could not do.
void WriteBytes(std::FILE *out, const void *data, std::size_t size);
void ReadBytes(std::FILE *in, void *data, std::size_t size, const char *what);
std::vector<int64_t> ReadShape(std::FILE *in);
void WriteShape(std::FILE *out, const std::vector<int64_t> &shape);

}  // namespace fcn4

#endif  // FCN4_ASCEND310_INFER_INC_SERVE_PROTOCOL_H_
