// The deleter for std::unique_ptr owners of C library objects (STYLE.md rule 5):
// `std::unique_ptr<ldns_rr, FreeWith<ldns_rr_free>>` calls ldns_rr_free once.
#pragma once

namespace acmednsd {

template <auto FreeFunction>
struct FreeWith {
  template <typename T>
  void operator()(T* handle) const {
    FreeFunction(handle);
  }
};

}  // namespace acmednsd
