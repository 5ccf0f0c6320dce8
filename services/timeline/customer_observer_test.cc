#include "services/timeline/customer_observer.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace omnihub::timeline {
namespace {

// Records what it is told, and answers with `answer`.
class RecordingObserver : public CustomerObserver {
 public:
  RecordingObserver(std::string name, std::vector<std::string>* told,
                    absl::Status answer = absl::OkStatus())
      : name_(std::move(name)), told_(told), answer_(std::move(answer)) {}

  void PurchasesChanged(
      const std::string& customer_id,
      absl::AnyInvocable<void(absl::Status) &&> done) override {
    told_->push_back(name_ + " purchases " + customer_id);
    std::move(done)(answer_);
  }
  void Forgetting(const std::string& customer_id,
                  absl::AnyInvocable<void(absl::Status) &&> done) override {
    told_->push_back(name_ + " forgetting " + customer_id);
    std::move(done)(answer_);
  }

 private:
  std::string name_;
  std::vector<std::string>* told_;
  absl::Status answer_;
};

absl::Status Tell(
    CustomerObserver& observer,
    void (CustomerObserver::*call)(const std::string&,
                                   absl::AnyInvocable<void(absl::Status) &&>)) {
  absl::Status answer = absl::UnknownError("done never ran");
  (observer.*call)("c1", [&answer](absl::Status status) { answer = status; });
  return answer;
}

TEST(CustomerObserverListTest, TellsEveryObserverInTurn) {
  std::vector<std::string> told;
  RecordingObserver first("first", &told), second("second", &told);
  CustomerObserverList list;
  list.Add(&first);
  list.Add(&second);

  EXPECT_TRUE(Tell(list, &CustomerObserver::PurchasesChanged).ok());
  EXPECT_TRUE(Tell(list, &CustomerObserver::Forgetting).ok());
  EXPECT_EQ(told, (std::vector<std::string>{
                      "first purchases c1", "second purchases c1",
                      "first forgetting c1", "second forgetting c1"}));
}

TEST(CustomerObserverListTest, TheFirstFailureIsTheAnswerAndStopsTheRest) {
  std::vector<std::string> told;
  RecordingObserver failing("failing", &told, absl::UnavailableError("down"));
  RecordingObserver after("after", &told);
  CustomerObserverList list;
  list.Add(&failing);
  list.Add(&after);

  EXPECT_EQ(Tell(list, &CustomerObserver::PurchasesChanged),
            absl::UnavailableError("down"));
  EXPECT_EQ(told, std::vector<std::string>{"failing purchases c1"});
}

TEST(CustomerObserverListTest, EventsChangedIsOptionalAndAnEmptyListAnswers) {
  std::vector<std::string> told;
  RecordingObserver purchases_only("only", &told);
  CustomerObserverList list;
  EXPECT_TRUE(Tell(list, &CustomerObserver::EventsChanged).ok());
  list.Add(&purchases_only);
  EXPECT_TRUE(Tell(list, &CustomerObserver::EventsChanged).ok());
  EXPECT_TRUE(told.empty());
}

}  // namespace
}  // namespace omnihub::timeline
