#include "log.h"

#include <qb/qblog.h>

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <syslog.h>

namespace pvebal::balancerd {

namespace {

int priority(log_level l) {
    switch (l) {
    case log_level::error:
        return LOG_ERR;
    case log_level::warning:
        return LOG_WARNING;
    case log_level::notice:
        return LOG_NOTICE;
    case log_level::info:
        return LOG_INFO;
    case log_level::debug:
        return LOG_DEBUG;
    }
    return LOG_INFO;
}

} // namespace

void log_setup(const char *ident, const log_options &o) {
    qb_log_init(ident, LOG_DAEMON, o.debug ? LOG_DEBUG : LOG_INFO);
    qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, o.to_syslog ? QB_TRUE : QB_FALSE);
    qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*",
                      o.debug ? LOG_DEBUG : LOG_INFO);
    qb_log_format_set(QB_LOG_SYSLOG, "%b");
    qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, o.to_stderr ? QB_TRUE : QB_FALSE);
    if (o.to_stderr) {
        qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*",
                          o.debug ? LOG_DEBUG : LOG_INFO);
        qb_log_format_set(QB_LOG_STDERR, "%T [%p] %N: %b");
    }
    qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_FALSE);
}

void log_shutdown() {
    qb_log_fini();
}

void log_message(log_level level, const std::string &message) {
    // qb_log() fixes a call site's priority at its first call; messages of every level pass
    // through here, so use the entry point meant for external sources.
    qb_log_from_external_source(__func__, __FILE__, "%s", static_cast<uint8_t>(priority(level)),
                                __LINE__, 0, message.c_str());
}

bool stderr_is_journal() {
    const char *js = std::getenv("JOURNAL_STREAM");
    if (!js) {
        return false;
    }
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) {
        return false;
    }
    struct stat st {};
    if (fstat(2, &st) != 0) {
        return false;
    }
    return st.st_dev == dev && st.st_ino == ino;
}

} // namespace pvebal::balancerd
