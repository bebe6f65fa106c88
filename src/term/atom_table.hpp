#pragma once
// Test and introspection hooks of the atom table (src/term/term.cpp).

#include <cstddef>

namespace otp::internal {

/// Atoms interned so far (including `''`).
std::size_t atom_count() noexcept;
/// Lowers (or restores, with `atom::max_atoms`) the table's bound, so tests
/// can reach it without creating a million atoms. Never below `atom_count()`.
void set_atom_limit(std::size_t limit) noexcept;

}  // namespace otp::internal
