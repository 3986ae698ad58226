package PVEBalancerTest::Env;

# The environment backend of the tests: the real PVE2 backend (so its calls into PVE::Cluster,
# the API handlers, the API client and PVE::HA::Config run against the doubles), with the
# simulated cluster's fake clock for time and sleep, UTC as the local time, and the daemon's
# local status from the simulation ('daemon_status'). Log lines are also kept in ->{log}.

use strict;
use warnings;

use PVE::Balancer::Env::PVE2;
use PVE::RESTEnvironment;

use base qw(PVE::Balancer::Env::PVE2);

sub new {
    my ($class, %args) = @_;

    my $self = PVE::Balancer::Env::PVE2::new($class, %args);
    $self->{sim} = $args{sim} // PVEBalancerTest::SimCluster->current();
    $self->{log} = [];
    return $self;
}

sub get_time {
    my ($self) = @_;
    return $self->{sim}->{time};
}

sub sleep {
    my ($self, $seconds) = @_;
    $self->{sim}->advance($seconds);
}

sub local_time {
    my ($self, $epoch) = @_;

    my @t = gmtime($epoch);
    return {
        year => $t[5] + 1900, mon => $t[4] + 1, mday => $t[3], wday => $t[6], hour => $t[2],
        min => $t[1], date => sprintf("%04d-%02d-%02d", $t[5] + 1900, $t[4] + 1, $t[3]),
    };
}

sub daemon_local_status {
    my ($self) = @_;

    my $st = $self->{sim}->{daemon_status} // return undef;
    return { %$st };
}

sub log {
    my ($self, $level, $msg) = @_;

    push @{ $self->{log} }, ($level eq 'warn' ? "WARN: " : '') . $msg;
    # inside a worker the real backend prints into the task log
    $self->SUPER::log($level, $msg) if PVE::RESTEnvironment->is_worker();
}

1;
