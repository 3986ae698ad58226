// File: daemon/notify.h
//
// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to the unix
// socket named by $NOTIFY_SOCKET ('@' = abstract namespace). A no-op when it is not set.
#ifndef PVEBAL_DAEMON_NOTIFY_H_
#define PVEBAL_DAEMON_NOTIFY_H_

#include <string>

namespace pvebal::balancerd {

void sd_notify_send(const std::string &state); // e.g. "READY=1", "STATUS=standby"

} // namespace pvebal::balancerd

#endif
