#include "services/segments/store/member_page.h"

#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/blocking_calls.h"
#include "common/redis/reply_gatherer.h"
#include "common/sharded_page/sharded_page.h"
#include "omnihub/v1/segments.pb.h"
#include "services/insights/store/customer_read.h"

namespace omnihub::segments {
namespace {

using redis::Replies;
using redis::Reply;

// Reads of a version that another replica changed meanwhile, before giving
// up with ABORTED.
constexpr int kVersionReads = 4;

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
        version_(query_.loaded_version),
        // One more than a page tells whether a page follows.
        wanted_(static_cast<size_t>(query_.page_size) + 1),
        first_(sharded_page::FirstAsk(wanted_, kSegmentShards)),
        from_(query_.after.empty() ? std::string("-")
                                   : absl::StrCat("(", query_.after)),
        reads_(kSegmentShards) {}

  void ReadFirst() {
    std::vector<std::vector<std::string>> commands = {
        {"HGET", keys_.Definitions(), query_.name},
        {"HGET", keys_.Done(), query_.name}};
    if (version_ > 0) {
      for (int shard = 0; shard < kSegmentShards; ++shard) {
        commands.push_back({"ZRANGEBYLEX",
                            keys_.Members(shard, query_.name, version_), from_,
                            "+", "LIMIT", "0", absl::StrCat(first_)});
      }
    }
    redis::ExecuteGathered(redis_, std::move(commands),
                           [self = shared_from_this()](Replies replies) {
                             self->OnFirst(std::move(replies));
                           });
  }

 private:
  void OnFirst(Replies replies) {
    for (size_t i = 0; i < 2; ++i) {
      replies[i] =
          redis::ErrorReplyAsStatus(std::move(replies[i]), "a segment");
      if (!replies[i].ok()) return Fail(replies[i].status());
    }
    if (replies[0]->type != Reply::Type::kString) {
      return Fail(absl::NotFoundError(
          absl::StrCat("no segment named \"", query_.name, "\"")));
    }
    v1::Segment stored;
    if (!stored.ParseFromString(replies[0]->str)) {
      return Fail(absl::DataLossError(absl::StrCat(
          "segment definition ", query_.name, " is not readable")));
    }
    if (stored.version() != version_ ||
        replies.size() != 2 + static_cast<size_t>(kSegmentShards)) {
      if (++version_reads_ >= kVersionReads) {
        return Fail(absl::AbortedError(absl::StrCat(
            "segment \"", query_.name, "\" keeps changing; try again")));
      }
      version_ = stored.version();
      return ReadFirst();
    }
    const std::vector<std::string> done =
        absl::StrSplit(insights::TextOf(*replies[1]), '|');
    complete_ = done.size() >= 3 && done[0] == absl::StrCat(version_);
    for (int shard = 0; shard < kSegmentShards; ++shard) {
      if (absl::Status added =
              Add(shard, first_, std::move(replies[2 + shard]));
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
  int64_t version_;
  int version_reads_ = 0;
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
