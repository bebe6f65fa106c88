# The two commands of the README, plus the sanitizer runs CI adds.
#   make demo      install dependencies, build, run the demo, the lessons tour, the supervision
#                  examples and the distributed node that an Elixir client calls
#   make test      install dependencies, build, run every test
#   make sanitize  the whole suite under ThreadSanitizer and ASan+UBSan
#   make bench     the side-by-side comparison with the BEAM (bench/compare)
#   make fuzz      the libFuzzer targets, FUZZ_SECONDS each (default 30)
.PHONY: demo test sanitize tsan asan bench deps fuzz

deps:
	@scripts/deps.sh

demo: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target otp_demo otp_lessons otp_supervision_tree otp_registry_sessions otp_dist_demo
	@build/release/examples/otp_demo
	@build/release/examples/otp_lessons
	@build/release/examples/otp_supervision_tree
	@build/release/examples/otp_registry_sessions
	@build/release/examples/otp_dist_demo

test: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release
	@ctest --preset release -j2

tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan --target otp_tests
	@ctest --preset tsan

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan --target otp_tests
	@ctest --preset asan

sanitize: tsan asan

bench:
	@scripts/deps.sh --bench
	@bench/compare

fuzz:
	@scripts/deps.sh --fuzz
	@scripts/fuzz.sh $${FUZZ_SECONDS:-30}
