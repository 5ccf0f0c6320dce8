#include "common/redis/hiredis_reply.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace omnihub::redis {
namespace {

struct ReaderDeleter {
  void operator()(redisReader* reader) const { redisReaderFree(reader); }
};
using Reader = std::unique_ptr<redisReader, ReaderDeleter>;

Reader ValueReader() {
  Reader reader(redisReaderCreate());
  BuildRepliesAsValues(reader.get());
  return reader;
}

// Feeds `resp` and takes the one reply it holds.
Reply ReadOne(redisReader* reader, const std::string& resp) {
  EXPECT_EQ(redisReaderFeed(reader, resp.data(), resp.size()), REDIS_OK);
  void* built = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &built), REDIS_OK);
  EXPECT_NE(built, nullptr);
  return built == nullptr ? Reply() : TakeBuiltReply(built);
}

TEST(HiredisReplyTest, BuildsEveryKindOfReplyAsAValue) {
  Reader reader = ValueReader();
  const Reply status = ReadOne(reader.get(), "+OK\r\n");
  EXPECT_EQ(status.type, Reply::Type::kStatus);
  EXPECT_EQ(status.str, "OK");
  const Reply error = ReadOne(reader.get(), "-WRONGTYPE no\r\n");
  EXPECT_TRUE(error.is_error());
  EXPECT_EQ(error.str, "WRONGTYPE no");
  const Reply integer = ReadOne(reader.get(), ":-42\r\n");
  EXPECT_EQ(integer.type, Reply::Type::kInteger);
  EXPECT_EQ(integer.integer, -42);
  EXPECT_TRUE(ReadOne(reader.get(), "$-1\r\n").is_nil());
  EXPECT_TRUE(ReadOne(reader.get(), "*-1\r\n").is_nil());
  const Reply empty = ReadOne(reader.get(), "*0\r\n");
  EXPECT_EQ(empty.type, Reply::Type::kArray);
  EXPECT_TRUE(empty.elements.empty());
  // Longer than a short string's inline buffer, with a NUL inside.
  const std::string binary = std::string("a\0b", 3) + std::string(40, 'x');
  const Reply string =
      ReadOne(reader.get(),
              "$" + std::to_string(binary.size()) + "\r\n" + binary + "\r\n");
  EXPECT_EQ(string.type, Reply::Type::kString);
  EXPECT_EQ(string.str, binary);
}

TEST(HiredisReplyTest, BuildsNestedArraysInPlace) {
  Reader reader = ValueReader();
  // What a script may return: {'a', {1, nil, {'b'}}, 'c', {}}.
  const Reply reply =
      ReadOne(reader.get(),
              "*4\r\n$1\r\na\r\n*3\r\n:1\r\n$-1\r\n*1\r\n$1\r\nb"
              "\r\n$1\r\nc\r\n*0\r\n");
  ASSERT_EQ(reply.type, Reply::Type::kArray);
  ASSERT_EQ(reply.elements.size(), 4u);
  EXPECT_EQ(reply.elements[0].str, "a");
  const Reply& inner = reply.elements[1];
  ASSERT_EQ(inner.elements.size(), 3u);
  EXPECT_EQ(inner.elements[0].integer, 1);
  EXPECT_TRUE(inner.elements[1].is_nil());
  ASSERT_EQ(inner.elements[2].elements.size(), 1u);
  EXPECT_EQ(inner.elements[2].elements[0].str, "b");
  EXPECT_EQ(reply.elements[2].str, "c");
  EXPECT_EQ(reply.elements[3].type, Reply::Type::kArray);
  EXPECT_TRUE(reply.elements[3].elements.empty());
}

TEST(HiredisReplyTest, AReplyArrivingInPiecesIsBuiltOnce) {
  Reader reader = ValueReader();
  const std::string resp = "*2\r\n$5\r\nhello\r\n*1\r\n:7\r\n";
  void* built = nullptr;
  for (size_t i = 0; i + 1 < resp.size(); ++i) {
    ASSERT_EQ(redisReaderFeed(reader.get(), &resp[i], 1), REDIS_OK);
    ASSERT_EQ(redisReaderGetReply(reader.get(), &built), REDIS_OK);
    ASSERT_EQ(built, nullptr) << "complete after " << i + 1 << " bytes";
  }
  ASSERT_EQ(redisReaderFeed(reader.get(), &resp.back(), 1), REDIS_OK);
  ASSERT_EQ(redisReaderGetReply(reader.get(), &built), REDIS_OK);
  ASSERT_NE(built, nullptr);
  const Reply reply = TakeBuiltReply(built);
  ASSERT_EQ(reply.elements.size(), 2u);
  EXPECT_EQ(reply.elements[0].str, "hello");
  EXPECT_EQ(reply.elements[1].elements[0].integer, 7);
}

// A protocol error halfway through an array frees what was built (the
// sanitizer build catches a leak or a double free).
TEST(HiredisReplyTest, AProtocolErrorMidwayFreesThePartialReply) {
  Reader reader = ValueReader();
  const std::string resp = "*3\r\n$3\r\nfoo\r\n*2\r\n:1\r\n!bad\r\n";
  ASSERT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
  void* built = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &built), REDIS_ERR);
  EXPECT_EQ(built, nullptr);
}

// Freeing a reader that holds half a reply frees that half too.
TEST(HiredisReplyTest, AReaderFreedMidReplyFreesIt) {
  Reader reader = ValueReader();
  const std::string resp = "*2\r\n$3\r\nfoo\r\n";
  ASSERT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
  void* built = nullptr;
  ASSERT_EQ(redisReaderGetReply(reader.get(), &built), REDIS_OK);
  EXPECT_EQ(built, nullptr);
}

// A blocking context over one end of a socket pair; the test plays Redis
// on the other.
TEST(HiredisReplyTest, CommandAndWaitSendsTheCommandAndBuildsItsReply) {
  int ends[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  redisContext* context = redisConnectFd(ends[0]);
  ASSERT_NE(context, nullptr);
  BuildRepliesAsValues(context->reader);
  const std::string reply = "*2\r\n$2\r\nv1\r\n$-1\r\n";
  ASSERT_EQ(write(ends[1], reply.data(), reply.size()),
            static_cast<ssize_t>(reply.size()));

  absl::StatusOr<Reply> got = CommandAndWait(context, {"HMGET", "k", "a b"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->type, Reply::Type::kArray);
  ASSERT_EQ(got->elements.size(), 2u);
  EXPECT_EQ(got->elements[0].str, "v1");
  EXPECT_TRUE(got->elements[1].is_nil());
  char sent[128] = {};
  const ssize_t n = read(ends[1], sent, sizeof(sent));
  EXPECT_EQ(std::string(sent, n > 0 ? n : 0),
            "*3\r\n$5\r\nHMGET\r\n$1\r\nk\r\n$3\r\na b\r\n");

  // The peer closes without answering: the connection's error, not a
  // reply. (Only its sending side: a write to a closed socket would raise
  // SIGPIPE.)
  ASSERT_EQ(shutdown(ends[1], SHUT_WR), 0);
  got = CommandAndWait(context, {"PING"});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable)
      << got.status();
  redisFree(context);  // closes ends[0]
  close(ends[1]);
}

}  // namespace
}  // namespace omnihub::redis
