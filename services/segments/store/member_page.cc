#include "services/segments/store/member_page.h"

#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/reply_gatherer.h"
#include "common/sharded_page/sharded_page.h"
#include "services/insights/store/customer_read.h"
#include "services/segments/store/versioned_read.h"

namespace omnihub::segments {
namespace {

using redis::Replies;
using redis::Reply;

// Its round trips' callbacks hold it; nothing else touches it while one is
// out, so it needs no lock.
class MemberPageRead : public std::enable_shared_from_this<MemberPageRead> {
 public:
  MemberPageRead(redis::RedisClient& redis, const SegmentKeys& keys,
                 MemberPageQuery query, timeline::Done<MembersPage> done)
      : redis_(redis),
        keys_(keys),
        query_(std::move(query)),
        done_(std::move(done)),
        // One more than a page tells whether a page follows.
        wanted_(static_cast<size_t>(query_.page_size) + 1),
        first_(sharded_page::FirstAsk(wanted_, kSegmentShards)),
        from_(query_.after.empty() ? std::string("-")
                                   : absl::StrCat("(", query_.after)),
        reads_(kSegmentShards) {}

  void ReadFirst() {
    ReadUnderStoredVersion(
        redis_, keys_, query_.name, query_.loaded_version,
        [self = shared_from_this()](int64_t version) {
          std::vector<std::vector<std::string>> commands = {
              {"HGET", self->keys_.Done(), self->query_.name}};
          for (int shard = 0; shard < kSegmentShards; ++shard) {
            commands.push_back(
                {"ZRANGEBYLEX",
                 self->keys_.Members(shard, self->query_.name, version),
                 self->from_, "+", "LIMIT", "0", absl::StrCat(self->first_)});
          }
          return commands;
        },
        [self = shared_from_this()](absl::StatusOr<VersionedReplies> read) {
          self->OnFirst(std::move(read));
        });
  }

 private:
  // The evaluation's state, then every shard's first ids.
  void OnFirst(absl::StatusOr<VersionedReplies> read) {
    if (!read.ok()) return Fail(read.status());
    version_ = read->version;
    absl::StatusOr<Reply> done =
        redis::ErrorReplyAsStatus(std::move(read->replies[0]), "a segment");
    if (!done.ok()) return Fail(done.status());
    const std::vector<std::string> state =
        absl::StrSplit(insights::TextOf(*done), '|');
    complete_ = state.size() >= 3 && state[0] == absl::StrCat(version_);
    for (int shard = 0; shard < kSegmentShards; ++shard) {
      if (absl::Status added =
              Add(shard, first_, std::move(read->replies[1 + shard]));
          !added.ok()) {
        return Fail(added);
      }
    }
    Merge();
  }

  // Decides the page, or reads further the shards that may hold more of it.
  void Merge() {
    sharded_page::MergeStep<std::string> step =
        sharded_page::MergeShards(reads_, wanted_, std::less<>());
    if (step.reads.empty()) return Finish(std::move(step.page));
    std::vector<std::vector<std::string>> more;
    for (const sharded_page::MoreOf& next : step.reads) {
      const sharded_page::ShardRead<std::string>& read = reads_[next.shard];
      more.push_back(
          {"ZRANGEBYLEX", keys_.Members(next.shard, query_.name, version_),
           read.entries.empty() ? from_
                                : absl::StrCat("(", read.entries.back()),
           "+", "LIMIT", "0", absl::StrCat(next.count)});
    }
    redis::ExecuteGathered(
        redis_, std::move(more),
        [self = shared_from_this(),
         reads = std::move(step.reads)](Replies replies) {
          for (size_t i = 0; i < reads.size(); ++i) {
            if (absl::Status added = self->Add(reads[i].shard, reads[i].count,
                                               std::move(replies[i]));
                !added.ok()) {
              return self->Fail(added);
            }
          }
          self->Merge();
        });
  }

  // What `shard` gave when asked for `asked` more ids.
  absl::Status Add(int shard, int asked, absl::StatusOr<Reply> reply) {
    reply = timeline::Expect(std::move(reply), Reply::Type::kArray,
                             "a segment's members");
    if (!reply.ok()) return reply.status();
    sharded_page::ShardRead<std::string>& read = reads_[shard];
    read.more = static_cast<int>(reply->elements.size()) == asked;
    for (Reply& id : reply->elements) read.entries.push_back(std::move(id.str));
    return absl::OkStatus();
  }

  void Finish(std::vector<std::string> ids) {
    MembersPage page;
    page.version = version_;
    page.complete = complete_;
    page.customer_ids = std::move(ids);
    if (page.customer_ids.size() > static_cast<size_t>(query_.page_size)) {
      page.customer_ids.resize(query_.page_size);
      page.next_page_token = page.customer_ids.back();
    }
    std::move(done_)(std::move(page));
  }

  void Fail(absl::Status status) { std::move(done_)(std::move(status)); }

  redis::RedisClient& redis_;
  const SegmentKeys& keys_;
  const MemberPageQuery query_;
  timeline::Done<MembersPage> done_;
  int64_t version_ = 0;
  bool complete_ = false;
  const size_t wanted_;
  const int first_;
  const std::string from_;
  std::vector<sharded_page::ShardRead<std::string>> reads_;
};

}  // namespace

void ReadMemberPage(redis::RedisClient& redis, const SegmentKeys& keys,
                    MemberPageQuery query, timeline::Done<MembersPage> done) {
  std::make_shared<MemberPageRead>(redis, keys, std::move(query),
                                   std::move(done))
      ->ReadFirst();
}

}  // namespace omnihub::segments
