#include "files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pvebal::balancerd {

namespace {

std::string parent_of(const std::string &path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string errno_text(const std::string &what) {
    return what + ": " + std::strerror(errno);
}

} // namespace

result<void> make_dirs(const std::string &dir) {
    if (dir.empty() || dir == "/" || dir == ".") {
        return {};
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            return fail(dir, "exists and is not a directory");
        }
        return {};
    }
    if (auto r = make_dirs(parent_of(dir)); !r) {
        return r;
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return fail(dir, errno_text("mkdir"));
    }
    return {};
}

result<void> write_file_atomic(const std::string &path, const std::string &content, bool make_dir) {
    std::string dir = parent_of(path);
    if (make_dir && ::access(dir.c_str(), F_OK) != 0) {
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
            return fail(dir, errno_text("mkdir"));
        }
    }
    std::string base = path.substr(path.rfind('/') + 1);
    std::string tmp = dir + "/." + base + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return fail(tmp, errno_text("open"));
    }
    const char *p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            auto err = errno_text("write");
            ::close(fd);
            ::unlink(tmp.c_str());
            return fail(tmp, err);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        auto err = errno_text("close");
        ::unlink(tmp.c_str());
        return fail(tmp, err);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto err = errno_text("rename");
        ::unlink(tmp.c_str());
        return fail(path, err);
    }
    return {};
}

result<std::optional<std::string>> read_file(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return std::optional<std::string>();
        }
        return fail(path, errno_text("open"));
    }
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            auto err = errno_text("read");
            ::close(fd);
            return fail(path, err);
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > (1u << 20)) {
            ::close(fd);
            return fail(path, "larger than 1 MiB");
        }
    }
    ::close(fd);
    return std::optional<std::string>(std::move(out));
}

std::optional<file_stamp> stat_file(const std::string &path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_stamp{
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
        static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
}

} // namespace pvebal::balancerd
