package PVEBalancerTest::CycleHarness;

# Runs the real cycle command (bin/pve-balancer-cycle) on the simulated cluster, as
# pve-balancerd would start it, but in a test:
#
#   perl -I tests/perl/lib -MPVEBalancerTest::CycleHarness bin/pve-balancer-cycle
#
# Loading this module (before the script runs) sets up what a node would have: the PVE doubles
# on @INC, the simulated cluster from $PVEBAL_TEST_FIXTURE (a file of tests/perl/fixtures/api),
# /etc/pve in $PVEBAL_TEST_CFS, no RPC environment (the daemon starts a plain process), no
# quorum with $PVEBAL_TEST_NO_QUORUM. With $PVEBAL_TEST_PACE (real seconds per simulated
# second) the fake clock also takes real time, so a test can send signals while migrations
# run; $PVEBAL_TEST_BEHAVIOUR (JSON) sets the migrations' behaviour (see SimCluster).

use strict;
use warnings;

use PVEBalancerTest::Setup;

use JSON;
use Time::HiRes ();

my $fixture = $ENV{PVEBAL_TEST_FIXTURE} // die "PVEBAL_TEST_FIXTURE not set\n";
my $cfs = $ENV{PVEBAL_TEST_CFS} // die "PVEBAL_TEST_CFS not set\n";

my $sim = PVEBalancerTest::SimCluster->load(PVEBalancerTest::Setup::fixture($fixture));
$sim->{no_quorum} = 1 if $ENV{PVEBAL_TEST_NO_QUORUM};
if (my $b = $ENV{PVEBAL_TEST_BEHAVIOUR}) {
    $sim->{behaviour} = JSON->new->decode($b);
}
$PVE::Balancer::Env::default_plug = 'PVEBalancerTest::Env';
$PVE::Balancer::Env::default_args = { cfs_root => $cfs };

if (my $pace = $ENV{PVEBAL_TEST_PACE}) {
    no warnings 'redefine';
    my $advance = \&PVEBalancerTest::SimCluster::advance;
    *PVEBalancerTest::SimCluster::advance = sub {
        my ($self, $seconds) = @_;
        Time::HiRes::sleep($pace * $seconds);
        return $advance->($self, $seconds);
    };
}

# the test environment keeps log lines in memory; a cycle command prints them (the journal)
{
    no warnings 'redefine';
    my $log = \&PVEBalancerTest::Env::log;
    *PVEBalancerTest::Env::log = sub {
        my ($self, $level, $msg) = @_;
        $log->(@_);
        print(($level eq 'warn' ? "WARN: " : '') . "$msg\n");
    };
}

1;
