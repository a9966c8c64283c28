// doorman's entry point: hands the arguments to the CLI.
#include <iostream>
#include <string>
#include <vector>

#include "proxy/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return doorman::proxy::run_cli(args, std::cin, std::cout, std::cerr);
}
