// Lowers a thread's scheduling priority for CPU-heavy work nothing waits on.
#include "proxy/idle_priority.hpp"

#include <sched.h>
#include <sys/resource.h>

namespace doorman::proxy {

bool lower_this_thread_to_idle() {
  sched_param param{};
  if (sched_setscheduler(0, SCHED_IDLE, &param) == 0) return true;
  (void)setpriority(PRIO_PROCESS, 0, 19);  // PRIO_PROCESS with 0: this thread, on Linux
  return false;
}

}  // namespace doorman::proxy
