#include "notify.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace pvebal::balancerd {

void sd_notify_send(const std::string &state) {
    const char *path = std::getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@')) {
        return;
    }
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path) {
        return;
    }
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') {
        addr.sun_path[0] = '\0';
    }
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    auto addr_len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len);
    ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
             reinterpret_cast<const struct sockaddr *>(&addr), addr_len);
    ::close(fd);
}

} // namespace pvebal::balancerd
