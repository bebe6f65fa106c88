// The non-template parts of the term codecs: error messages, the helpers of
// OTP_TERM_TUPLE / OTP_TERM_MAP, strings, integers and exit reasons.

#include "otp/term_codec.hpp"

#include "term/term_internal.hpp"

namespace otp {

namespace codec_detail {

void fail(std::string_view expected, const term& got) {
  throw bad_term("expected " + std::string(expected) + ", got " + internal::describe(got));
}

void fail_field(std::string_view type, std::string_view field, const bad_term& inner) {
  throw bad_term(std::string(type) + "." + std::string(field) + ": " + inner.what());
}

term tagged(const char* tag, std::initializer_list<term> fields) {
  if (fields.size() == 0) return term(atom(tag));
  term_list elements;
  elements.reserve(fields.size() + 1);
  elements.emplace_back(atom(tag));
  elements.insert(elements.end(), fields.begin(), fields.end());
  return term::tuple(std::move(elements));
}

std::span<const term> untag(const term& t, const char* tag, std::size_t fields, std::string_view type) {
  if (fields == 0) {
    if (!t.is_atom(tag)) fail("the atom " + atom(tag).to_string() + " for " + std::string(type), t);
    return {};
  }
  if (!t.is_tagged_tuple(tag, fields + 1)) {
    // Appended piece by piece: `"{" + std::string&&` trips GCC 12's -Wrestrict (GCC bug 105329).
    std::string expected = "{";
    expected.append(atom(tag).to_string()).append(", ...} with ").append(std::to_string(fields));
    fail(expected.append(" fields for ").append(type), t);
  }
  return t.elements().subspan(1);
}

term field_map(std::initializer_list<std::pair<const char*, term>> fields) {
  std::vector<std::pair<term, term>> entries;
  entries.reserve(fields.size());
  for (const auto& [key, value] : fields) entries.emplace_back(term(atom(key)), value);
  return term::map(std::move(entries));
}

const term& map_field(const term& t, const char* key, std::string_view type) {
  const term* value = t.map_find(term(atom(key)));
  if (!value) throw bad_term(std::string(type) + ": missing key " + std::string(key) + " in " + internal::describe(t));
  return *value;
}

std::int64_t integer_in(const term& t, std::int64_t min, std::int64_t max) {
  if (t.get_type() != term::type::integer || t.as_int() < min || t.as_int() > max)
    fail("an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", t);
  return t.as_int();
}

std::uint64_t unsigned_in(const term& t, std::uint64_t max) {
  std::uint64_t v = 0;
  if (t.get_type() == term::type::integer && t.as_int() >= 0) {
    v = static_cast<std::uint64_t>(t.as_int());
  } else if (t.get_type() == term::type::bignum && !t.big_negative() && t.big_magnitude().size() <= 8) {
    for (std::size_t i = 0; i < t.big_magnitude().size(); ++i) v |= std::uint64_t{t.big_magnitude()[i]} << (8 * i);
  } else {
    fail("an integer in [0, " + std::to_string(max) + "]", t);
  }
  if (v > max) fail("an integer in [0, " + std::to_string(max) + "]", t);
  return v;
}

}  // namespace codec_detail

std::string term_codec<std::string>::from_term(const term& t) {
  if (t.is_binary() || t.is_list()) {
    if (auto s = t.as_string()) return *s;
  }
  codec_detail::fail("a string (a binary or a charlist)", t);
}

// ---------------------------------------------------------------- exit reasons

namespace {

const atom exception_key("__exception__"), struct_key("__struct__"), message_key("message");

// Reason texts travel as the terms they denote when they parse (so a BEAM
// node sees `{shutdown,{disk,full}}`), else as binaries. A binary whose text
// does not parse can only be such a text, so it comes back verbatim.
term text_to_term(const std::string& text) {
  if (internal::parses(text)) return term::parse(text);
  return term::binary(text);
}

std::string term_to_text(const term& t) {
  if (t.is_binary() && !internal::parses(t.as_binary())) return std::string(t.as_binary());
  return t.to_string();
}

term exception_struct(const exit_reason& r) {
  return term::map({{term(exception_key), term::boolean(true)},
                    {term(struct_key), term(atom(r.detail()))},
                    {term(message_key), term::binary(r.what())}});
}

// `%{__exception__: true, __struct__: type, message: what}`, Elixir's exception struct.
std::optional<exit_reason> exception_from(const term& t) {
  if (!t.is_map()) return std::nullopt;
  const term* flag = t.map_find(term(exception_key));
  const term* type = t.map_find(term(struct_key));
  if (!flag || !flag->is_atom("true") || !type || !type->is_atom()) return std::nullopt;
  const term* message = t.map_find(term(message_key));
  std::string what = !message ? "" : message->is_binary() ? std::string(message->as_binary()) : message->to_string();
  return exit_reason::exception(std::string(type->as_atom().name()), std::move(what));
}

// `{M, F, Args}`: where a wrapped reason happened, e.g. {gen_server,call,[...]}.
bool is_location(const term& t) {
  return t.is_tuple() && t.size() == 3 && t[0].is_atom() && t[1].is_atom() && t[2].is_list();
}

}  // namespace

term term_codec<exit_reason>::to_term(const exit_reason& r) {
  using kind = exit_reason::kind;
  switch (r.get_kind()) {
    case kind::normal: return term(atom("normal"));
    case kind::kill: return term(atom("kill"));
    case kind::killed: return term(atom("killed"));
    case kind::noproc: return term(atom("noproc"));
    case kind::shutdown:
      if (r.to_string() == "shutdown") return term(atom("shutdown"));  // not {shutdown, D}
      return term::tuple({term(atom("shutdown")), text_to_term(std::string(r.detail()))});
    case kind::exception: return exception_struct(r);
    case kind::other: return text_to_term(std::string(r.detail()));
    case kind::wrapped: return term::tuple({to_term(r.inner()), text_to_term(std::string(r.detail()))});
  }
  return term(atom("normal"));
}

namespace {

// A reason that is not `{inner, where}`; nullopt for one that is.
std::optional<exit_reason> unwrapped_reason(const term& t) {
  if (t.is_atom()) {
    std::string_view name = t.as_atom().name();
    if (name == "normal") return exit_reason::normal();
    if (name == "shutdown") return exit_reason::shutdown();
    if (name == "kill") return exit_reason::kill();
    if (name == "killed") return exit_reason::killed();
    if (name == "noproc") return exit_reason::noproc();
    return exit_reason::other(t.to_string());
  }
  if (auto e = exception_from(t)) return e;
  if (t.is_tuple() && t.size() == 2) {
    if (t[0].is_atom("shutdown")) return exit_reason::shutdown(term_to_text(t[1]));
    if (auto e = exception_from(t[0]); e && t[1].is_list()) return e;  // Elixir: {exception, stacktrace}
    if (is_location(t[1]) || (t[1].is_binary() && !internal::parses(t[1].as_binary()))) return std::nullopt;
  }
  return exit_reason::other(term_to_text(t));
}

}  // namespace

exit_reason exit_reason_from_term(const term& t) {
  // Wrapped reasons nest ({{R, W1}, W2}); unwound without recursion.
  std::vector<const term*> wheres;
  const term* inner = &t;
  std::optional<exit_reason> r;
  while (!(r = unwrapped_reason(*inner))) {
    wheres.push_back(&(*inner)[1]);
    inner = &(*inner)[0];
  }
  for (auto it = wheres.rbegin(); it != wheres.rend(); ++it) r = exit_reason::wrap(std::move(*r), term_to_text(**it));
  return *r;
}

}  // namespace otp
