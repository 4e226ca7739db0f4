#include "hash_pool.hpp"

#include "log.hpp"

#include <cerrno>
#include <cstring>

#include <sched.h>

namespace hashsrv {

namespace {

/// The calling thread under SCHED_BATCH for as long as it lives, if it ran
/// under SCHED_OTHER (a server started under chrt keeps what it was given).
class batch_while_alive {
public:
    batch_while_alive()
    {
        if (::sched_getscheduler(0) != SCHED_OTHER) return;
        sched_param p{};
        if (::sched_setscheduler(0, SCHED_BATCH, &p) == 0) changed_ = true;
        else log::warn("pool threads keep the normal policy: SCHED_BATCH refused: {}", std::strerror(errno));
    }
    ~batch_while_alive()
    {
        sched_param p{};
        if (changed_ && ::sched_setscheduler(0, SCHED_OTHER, &p) != 0)
            log::warn("the I/O thread stays SCHED_BATCH: {}", std::strerror(errno));
    }
    batch_while_alive(batch_while_alive const&) = delete;
    batch_while_alive& operator=(batch_while_alive const&) = delete;

private:
    bool changed_ = false;
};

} // namespace

boost::asio::thread_pool make_hash_pool(std::size_t threads, pool_policy policy)
{
    if (policy == pool_policy::normal) return {threads};
    // New threads inherit their creator's policy (on Linux, sched_setscheduler
    // with pid 0 is per thread): hold it while the pool starts its threads.
    batch_while_alive batch;
    return {threads};
}

} // namespace hashsrv
