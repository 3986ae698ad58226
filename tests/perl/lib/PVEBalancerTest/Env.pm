package PVEBalancerTest::Env;

# The environment backend of the tests: the real PVE2 backend (so its calls into PVE::Cluster,
# the API handlers, the API client and PVE::HA::Config run against the doubles), with the
# simulated cluster's fake clock for time and sleep. Log lines are also kept in ->{log}.

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

sub log {
    my ($self, $level, $msg) = @_;

    push @{ $self->{log} }, ($level eq 'warn' ? "WARN: " : '') . $msg;
    # inside a worker the real backend prints into the task log
    $self->SUPER::log($level, $msg) if PVE::RESTEnvironment->is_worker();
}

1;
