#include "tests/support/file_text.h"

#include <fstream>
#include <sstream>

namespace omnihub::testing {

std::string FileText(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace omnihub::testing
