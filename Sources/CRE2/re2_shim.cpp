#include "CRE2.h"

#include <re2/re2.h>

#include <cstring>
#include <memory>
#include <new>
#include <vector>

struct sonde_re2 {
    std::unique_ptr<re2::RE2> regex;
};

extern "C" sonde_re2 *sonde_re2_compile(const char *pattern, size_t length, int64_t max_memory, int case_insensitive,
                                        char *error, size_t error_capacity) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(max_memory);
    options.set_case_sensitive(!case_insensitive);
    std::unique_ptr<re2::RE2> regex(new (std::nothrow) re2::RE2(re2::StringPiece(pattern, length), options));
    if (!regex) {
        if (error_capacity > 0) std::strncpy(error, "out of memory", error_capacity - 1), error[error_capacity - 1] = 0;
        return nullptr;
    }
    if (!regex->ok()) {
        if (error_capacity > 0) {
            std::strncpy(error, regex->error().c_str(), error_capacity - 1);
            error[error_capacity - 1] = 0;
        }
        return nullptr;
    }
    auto *result = new (std::nothrow) sonde_re2;
    if (!result) return nullptr;
    result->regex = std::move(regex);
    return result;
}

extern "C" void sonde_re2_free(sonde_re2 *regex) { delete regex; }

extern "C" int sonde_re2_groups(const sonde_re2 *regex) { return regex->regex->NumberOfCapturingGroups(); }

extern "C" int sonde_re2_search(const sonde_re2 *regex, const char *text, size_t length, int64_t *offsets, int groups) {
    re2::StringPiece input(text, length);
    if (!offsets) {
        return regex->regex->Match(input, 0, length, re2::RE2::UNANCHORED, nullptr, 0) ? 1 : 0;
    }
    const int slots = groups + 1;
    std::vector<re2::StringPiece> pieces(slots);
    if (!regex->regex->Match(input, 0, length, re2::RE2::UNANCHORED, pieces.data(), slots)) return 0;
    for (int index = 0; index < slots; index++) {
        if (pieces[index].data() == nullptr) {
            offsets[2 * index] = -1;
            offsets[2 * index + 1] = -1;
        } else {
            offsets[2 * index] = pieces[index].data() - text;
            offsets[2 * index + 1] = offsets[2 * index] + pieces[index].size();
        }
    }
    return 1;
}
