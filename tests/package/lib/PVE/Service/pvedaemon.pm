package PVE::Service::pvedaemon;

# Test double of pve-manager's PVE::Service::pvedaemon (PVE/Service/pvedaemon.pm) for the package test:
# a PVE::Daemon created with [$0, @ARGV] at load time, as the real module does.

use strict;
use warnings;

use PVE::Daemon;

use base qw(PVE::Daemon);

my $cmdline = [$0, @ARGV];
my $daemon = __PACKAGE__->new('pvedaemon', $cmdline);

sub run_cli_handler {
    my ($class, %params) = @_;

    $daemon->run(@ARGV);
}

1;
