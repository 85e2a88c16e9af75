#ifndef FUZZ_MAIN_H
#define FUZZ_MAIN_H
// SwiftPM links an executable target with `--defsym main=<Target>_main` (so tests can link
// it), and under -parse-as-library nothing defines that symbol. Each fuzzer defines
// <Target>_main to call this, which hands control to libFuzzer's driver with the target's
// LLVMFuzzerTestOneInput (libFuzzer's own main is then not linked).
int conndiag_fuzz_main(int argc, char **argv);
#endif
