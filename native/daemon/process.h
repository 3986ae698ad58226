// File: daemon/process.h
//
// Starting and signalling the cycle child: fork + execve with the daemon's environment plus the
// cycle's variables, stdin from /dev/null, stdout and stderr inherited (the journal under
// systemd), its own process group, every other file descriptor closed, SIGTERM when the daemon
// dies (PR_SET_PDEATHSIG: the cycle's "cancel"). An exec failure is reported back through a
// close-on-exec pipe, so "command not found" is an error here and not a cycle that exits 127.
#ifndef PVEBAL_DAEMON_PROCESS_H_
#define PVEBAL_DAEMON_PROCESS_H_

#include "supervisor.h"

#include "pvebal/error.h"

#include <sys/types.h>

namespace pvebal::balancerd {

result<pid_t> spawn_process(const spawn_spec &spec);
void signal_process(pid_t pid, int sig, bool group);

} // namespace pvebal::balancerd

#endif
