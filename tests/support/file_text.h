// Reading a file a test or the process it started wrote (a log, a
// dead-letter file, a tool's output).
#ifndef OMNIHUB_TESTS_SUPPORT_FILE_TEXT_H_
#define OMNIHUB_TESTS_SUPPORT_FILE_TEXT_H_

#include <string>

namespace omnihub::testing {

// The whole text of the file at `path`; "" when it cannot be read.
std::string FileText(const std::string& path);

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_SUPPORT_FILE_TEXT_H_
