/**
 * The wire protocol of `main --serve` (see inc/serve_protocol.h).
 */
#include "inc/serve_protocol.h"

#include <cstring>
#include <stdexcept>

namespace fcn4 {

uint64_t Float32Bytes(const std::vector<int64_t> &shape) {
  uint64_t bytes = sizeof(float);
  for (const int64_t dim : shape) {
    if (dim < 0) {
      throw std::runtime_error("a tensor dimension is negative (" + std::to_string(dim) + ")");
    }
    if (dim != 0 && bytes > kMaxTensorBytes / static_cast<uint64_t>(dim)) {
      throw std::runtime_error("a tensor of more than " + std::to_string(kMaxTensorBytes) + " bytes");
    }
    bytes *= static_cast<uint64_t>(dim);
  }
  return bytes;
}

void WriteBytes(std::FILE *out, const void *data, std::size_t size) {
  if (size != 0 && std::fwrite(data, 1, size, out) != size) {
    throw std::runtime_error("cannot write " + std::to_string(size) + " bytes of a reply (caller gone?)");
  }
}

void ReadBytes(std::FILE *in, void *data, std::size_t size, const char *what) {
  if (size != 0 && std::fread(data, 1, size, in) != size) {
    throw std::runtime_error(std::string("the request stream ended inside ") + what);
  }
}

void WriteShape(std::FILE *out, const std::vector<int64_t> &shape) {
  const auto rank = static_cast<uint32_t>(shape.size());
  WriteBytes(out, &rank, sizeof(rank));
  WriteBytes(out, shape.data(), shape.size() * sizeof(int64_t));
}

std::vector<int64_t> ReadShape(std::FILE *in) {
  uint32_t rank = 0;
  ReadBytes(in, &rank, sizeof(rank), "a shape");
  if (rank == 0 || rank > kMaxRank) {
    throw std::runtime_error("a request declares rank " + std::to_string(rank) + ", expected 1 to " +
                             std::to_string(kMaxRank));
  }
  std::vector<int64_t> shape(rank);
  ReadBytes(in, shape.data(), rank * sizeof(int64_t), "a shape");
  return shape;
}

void WriteHello(std::FILE *out, const std::vector<int64_t> &input_shape) {
  WriteBytes(out, kServeMagic, std::strlen(kServeMagic));
  WriteShape(out, input_shape);
  std::fflush(out);
}

bool ReadRequest(std::FILE *in, WireTensor *request) {
  const int first = std::fgetc(in);
  if (first == EOF) {
    return false;
  }
  std::ungetc(first, in);
  request->shape = ReadShape(in);
  const uint64_t expected = Float32Bytes(request->shape);
  uint64_t size = 0;
  ReadBytes(in, &size, sizeof(size), "a byte count");
  if (size != expected) {
    throw std::runtime_error("a request declares " + std::to_string(size) + " bytes for a float32 tensor of " +
                             std::to_string(expected));
  }
  request->data.resize(size);
  ReadBytes(in, request->data.data(), size, "a tensor");
  return true;
}

void WriteOutputs(std::FILE *out, const std::vector<WireTensor> &outputs) {
  WriteBytes(out, &kServeOk, sizeof(kServeOk));
  const auto count = static_cast<uint32_t>(outputs.size());
  WriteBytes(out, &count, sizeof(count));
  for (const WireTensor &tensor : outputs) {
    WriteShape(out, tensor.shape);
    const uint64_t size = tensor.data.size();
    WriteBytes(out, &size, sizeof(size));
    WriteBytes(out, tensor.data.data(), tensor.data.size());
  }
  std::fflush(out);
}

void WriteError(std::FILE *out, const std::string &message) {
  WriteBytes(out, &kServeError, sizeof(kServeError));
  const auto size = static_cast<uint32_t>(message.size());
  WriteBytes(out, &size, sizeof(size));
  WriteBytes(out, message.data(), message.size());
  std::fflush(out);
}

}  // namespace fcn4
