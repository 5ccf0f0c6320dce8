// The Boost.Math error policy of the purchase models: a domain, pole,
// overflow or evaluation error gives a NaN or infinite result, never an
// exception, so the models' functions can report it as a value or a Status.
//
//   double g = boost::math::lgamma(x, kMathPolicy);  // NaN for x = -1
#ifndef OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_MATH_POLICY_H_
#define OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_MATH_POLICY_H_

#include <boost/math/policies/policy.hpp>

namespace omnihub::insights {

using MathPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<
        boost::math::policies::ignore_error>,
    boost::math::policies::rounding_error<boost::math::policies::ignore_error>,
    // Series that have not converged after this many terms are abandoned
    // (Boost's hypergeometric series then throws; callers catch it).
    boost::math::policies::max_series_iterations<100000>>;

inline constexpr MathPolicy kMathPolicy{};

}  // namespace omnihub::insights

#endif  // OMNIHUB_SERVICES_INSIGHTS_PURCHASE_MODEL_MATH_POLICY_H_
