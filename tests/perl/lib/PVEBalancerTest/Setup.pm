package PVEBalancerTest::Setup;

# Load this first in every API/executor test: it puts the PVE test doubles
# (tests/perl/lib/pve-doubles) and the repository root (for PVE/API2/Balancer.pm and
# PVE/Balancer/*.pm) in front of @INC and loads the engine:
#
#   - the real XS module PVE::Balancer::Native from perl/build when it is built there,
#   - otherwise PVEBalancerTest::NativeCLI, a stand-in that runs build/pve-balancer.
#
# PVEBAL_NATIVE=xs or PVEBAL_NATIVE=cli forces one of them ($PVEBalancerTest::Setup::native
# says which one is in use).

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

sub load_native {
    my $want = $ENV{PVEBAL_NATIVE} // 'auto';
    die "PVEBAL_NATIVE must be xs, cli or auto\n" if !grep { $want eq $_ } qw(xs cli auto);

    if ($want ne 'cli') {
        my @dirs = ("$root/perl/build/lib", "$root/perl/build/arch");
        my $err = "perl/build/lib/PVE/Balancer/Native.pm not built";
        if (-f "$dirs[0]/PVE/Balancer/Native.pm") {
            unshift @INC, @dirs;
            return 'xs' if eval { require PVE::Balancer::Native; 1 };
            $err = $@;
            @INC = grep { $_ ne $dirs[0] && $_ ne $dirs[1] } @INC;
            delete $INC{'PVE/Balancer/Native.pm'};
        }
        die "PVEBAL_NATIVE=xs, but the XS module does not load: $err" if $want eq 'xs';
    }
    require PVEBalancerTest::NativeCLI;
    return 'cli';
}

BEGIN {
    $native = load_native();
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
    $PVE::Balancer::Env::default_plug = 'PVEBalancerTest::Env';
    $PVE::Balancer::Env::default_args = { cfs_root => $cfs };

    my $rpcenv = PVE::RPCEnvironment->init($opts{type} // 'priv');
    $rpcenv->set_user('root@pam');
    $rpcenv->set_acl($opts{acl} // {});

    my $env = PVE::Balancer::Env->default_env();
    return ($sim, $env, $cfs);
}

1;
