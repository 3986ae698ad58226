package PVEBalancerTest::Setup;

# Load this first in every API/executor test: it puts the PVE test doubles
# (tests/perl/lib/pve-doubles) and the repository root (for PVE/API2/Balancer.pm and
# PVE/Balancer/*.pm) in front of @INC, loads the engine, the XS module PVE::Balancer::Native
# built in perl/build (make perl), and makes sure JSON.pm uses JSON::XS, as on every Proxmox
# VE node: JSON::XS writes a number that was ever used as a string as a string, and the
# engine refuses such snapshots; under JSON::PP the tests would not see that.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

our ($lib, $root, $native, $native_file);

BEGIN {
    $lib = abs_path(dirname(__FILE__) . '/..');
    $root = abs_path("$lib/../../..");
    unshift @INC, "$lib/pve-doubles", $root, $lib;
}

BEGIN {
    require JSON;
    my $backend = JSON->backend;
    if ($backend ne 'JSON::Backend::XS') {
        die "JSON.pm uses $backend, not JSON::XS: install libjson-xs-perl (make deps); the"
            . " tests must run with the JSON backend of a Proxmox VE node\n";
    }
}

BEGIN {
    my @dirs = ("$root/perl/build/lib", "$root/perl/build/arch");
    die "perl/build/lib/PVE/Balancer/Native.pm not built: run 'make perl'\n"
        if !-f "$dirs[0]/PVE/Balancer/Native.pm";
    unshift @INC, @dirs;
    require PVE::Balancer::Native;
    $native = 'xs';
    $native_file = $INC{'PVE/Balancer/Native.pm'};
}

use PVE::RPCEnvironment;
use PVE::Balancer::Env;
use PVEBalancerTest::Env;
use PVEBalancerTest::SimCluster;

=head3 fixture($name)

Path of a file in tests/perl/fixtures/api.

=cut

sub fixture {
    my ($name) = @_;
    return "$root/tests/perl/fixtures/api/$name";
}

=head3 set_zfs_arc_max($text)

Points PVE::Balancer::State::NodeInfo at a /sys/module/zfs/parameters/zfs_arc_max of the test's own
holding C<$text> (as the kernel writes it: the number and a newline), or at a missing file
(the zfs module not loaded) when C<$text> is undef. Never the real /sys of the test machine.

=cut

sub set_zfs_arc_max {
    my ($text) = @_;

    require PVE::Balancer::State::NodeInfo;
    my $dir = tempdir(CLEANUP => 1);
    my $file = "$dir/zfs_arc_max";
    if (defined($text)) {
        open(my $fh, '>', $file) or die "$file: $!\n";
        print $fh "$text\n";
        close($fh);
    }
    $PVE::Balancer::State::NodeInfo::ZFS_ARC_MAX_FILE = $file;
    return $file;
}

=head3 cluster($fixture, %opts)

Starts a simulated cluster from a fixture, an empty /etc/pve in a temporary directory, makes
the test environment the default backend of PVE::Balancer::Env and initialises the RPC
environment (type C<priv>, as in pvedaemon, or C<$opts{type}>). Returns the simulation and
an environment.

=cut

sub cluster {
    my ($fixture, %opts) = @_;

    my $sim = PVEBalancerTest::SimCluster->load(fixture($fixture));
    my $cfs = tempdir(CLEANUP => 1);
    set_zfs_arc_max($sim->{zfs_arc_max});
    $PVE::Balancer::Env::default_plug = 'PVEBalancerTest::Env';
    $PVE::Balancer::Env::default_args = { cfs_root => $cfs };

    my $rpcenv = PVE::RPCEnvironment->init($opts{type} // 'priv');
    $rpcenv->set_user('root@pam');
    $rpcenv->set_acl($opts{acl} // {});

    my $env = PVE::Balancer::Env->default_env();
    return ($sim, $env, $cfs);
}

1;
