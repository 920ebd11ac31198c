#include "visor/common/sha256.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>

#include "visor/common/files.h"

namespace visor {

struct Sha256::Context {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  if (context_->ctx == nullptr) std::abort();
  reset();
}

Sha256::~Sha256() {
  if (context_) EVP_MD_CTX_free(context_->ctx);
}

Sha256::Sha256(Sha256&&) noexcept = default;

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    if (context_) EVP_MD_CTX_free(context_->ctx);
    context_ = std::move(other.context_);
  }
  return *this;
}

// EVP calls only fail on allocation failure or a broken OpenSSL install; a digest that
// silently skipped bytes would be worse than stopping.
void Sha256::reset() {
  if (EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1) std::abort();
}

void Sha256::update(const void* data, std::size_t length) {
  if (length == 0) return;
  if (EVP_DigestUpdate(context_->ctx, data, length) != 1) std::abort();
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx, digest, &length) != 1) std::abort();
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0f]);
  }
  reset();
  return hex;
}

Result<std::string> sha256_file(const std::string& path) {
  Sha256 hash;
  const Status read = read_chunks(path, 256 * 1024, [&hash](const char* data, std::size_t length) {
    hash.update(data, length);
    return std::string();
  });
  if (!read) return read;
  return hash.hex_digest();
}

bool same_sha256(const std::string& left, const std::string& right) {
  if (left.empty() || left.size() != right.size()) return false;
  for (std::size_t index = 0; index < left.size(); ++index) {
    if (std::tolower(static_cast<unsigned char>(left[index])) !=
        std::tolower(static_cast<unsigned char>(right[index]))) {
      return false;
    }
  }
  return true;
}

bool is_sha256_hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace visor
