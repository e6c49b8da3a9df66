// `fjord`: the server (`fjord serve`) and the command-line client in one binary.
#include "cli/app.h"

int main(int argc, char** argv) { return fjord::cli::run(argc, argv); }
