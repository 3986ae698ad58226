package PVE::SafeSyslog;

# Test double of pve-common's PVE::SafeSyslog (src/PVE/SafeSyslog.pm): messages are kept in @PVE::SafeSyslog::log.

use strict;
use warnings;

use base 'Exporter';
our @EXPORT = qw(syslog);

our @log;

sub syslog {
    my ($level, $fmt, @args) = @_;
    push @log, [$level, sprintf($fmt, @args)];
}

1;
