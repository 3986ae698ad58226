package PVE::Daemon;

# Test double of pve-common's PVE::Daemon (src/PVE/Daemon.pm) for the package test: the part
# that decides whether pve-balancer's wrappers survive a daemon restart. new($name, $cmdline)
# keeps the command line untainted (the real new(): [map { /^(.*)$/ } @$cmdline]); a reload
# runs restart_daemon(), which sets RESTART_PVE_DAEMON and exec()s that command line. The
# service modules pass [$0, @ARGV] (pve-manager's PVE/Service/pvedaemon.pm, pveproxy.pm), and $0
# is /usr/bin/pvedaemon: with pve-balancer installed, its wrapper.
#
# run_cli_handler() prints whether /cluster/balance is mounted; the command `restart` restarts
# once, as `systemctl reload pvedaemon` does, and prints it again from the new process image.

use strict;
use warnings;

use PVE::API2;

sub new {
    my ($class, $name, $cmdline) = @_;

    return bless { name => $name, cmdline => [map { /^(.*)$/ } @$cmdline] }, $class;
}

sub restart_daemon {
    my ($self) = @_;

    $ENV{RESTART_PVE_DAEMON} = 1;
    exec(@{ $self->{cmdline} });
    die "exec failed - $!\n";
}

sub run {
    my ($self, @args) = @_;

    my $when = $ENV{RESTART_PVE_DAEMON} ? 'after restart' : 'started';
    my ($handler, $info) = PVE::API2->find_handler('GET', '/cluster/balance', {});
    my $mounted = $info ? "${handler}::$info->{name}" : 'not mounted';
    print "$self->{name} $when ($0, taint ${^TAINT}): /cluster/balance $mounted\n";

    $self->restart_daemon() if ($args[0] // '') eq 'restart' && !$ENV{RESTART_PVE_DAEMON};
    exit(0);
}

1;
