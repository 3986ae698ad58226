#!/usr/bin/perl
# Prints the example outputs of docs/api.md: every endpoint called through the real handlers on
# the simulated cluster of tests/perl/fixtures/api/executor.json (run from the repository root:
# perl tests/perl/lib/PVEBalancerTest/api-examples.pl). JSON is printed as
# `pvesh ... --output-format json-pretty` prints it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/..";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use JSON;

use PVE::Balancer::APIRegister;

my $json = JSON->new->utf8->canonical->pretty;

my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');

sub show {
    my ($title, $method, $path, $param, $trim) = @_;

    my $res = PVEBalancerTest::API::call($method, $path, $param);
    $trim->($res) if $trim && ref($res);
    my $cmd = { GET => 'get', POST => 'create', PUT => 'set' }->{$method};
    my $args = join('', map { " --$_ $param->{$_}" } sort keys %$param);
    print "### $title\n\n\$ pvesh $cmd $path$args --output-format json-pretty\n";
    print ref($res) ? $json->encode($res) : defined($res) ? "$res\n" : "(no output)\n";
    print "\n";
    return $res;
}

my $first_two = sub { my ($r) = @_; splice(@{ $r->{$_} }, 2) for grep { ref($r->{$_}) eq 'ARRAY' && @{ $r->{$_} } > 2 } qw(nodes warnings migrations headroom); };

show('status', 'GET', '/cluster/balance', {}, $first_two);
my $plan = show('dry run', 'POST', '/cluster/balance', { 'max-migrations' => 3 }, sub {
    my ($r) = @_;
    splice(@{ $r->{nodes} }, 1);
});
my $upid = show('apply', 'POST', '/cluster/balance',
    { 'max-migrations' => 3, apply => 1, digest => $plan->{digest} });
print "### task log\n\n", PVE::RPCEnvironment::get()->task_log($upid), "\n";
show('status after the run', 'GET', '/cluster/balance', { runs => 1 }, sub {
    my ($r) = @_;
    delete $r->{$_} for qw(nodes warnings summary capacity metrics crs);
});
show('evacuate (dry run)', 'POST', '/cluster/balance/evacuate', { node => 'pve2' }, sub {
    my ($r) = @_;
    delete $r->{$_} for qw(nodes metrics);
});
show('capacity', 'GET', '/cluster/balance/capacity', { 'target-failures' => 1 }, $first_two);
show('failover', 'GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' }, sub {
    my ($r) = @_;
    delete $r->{$_} for qw(nodes metrics);
});
show('place', 'GET', '/cluster/balance/place', { cpu => 4, mem => '8G' });
show('config', 'PUT', '/cluster/balance/config', { 'max-migrations' => 5, 'on-failure' => 'replan' });
show('config', 'GET', '/cluster/balance/config', {});
show('snapshot', 'GET', '/cluster/balance/snapshot', {}, sub {
    my ($r) = @_;
    splice(@{ $r->{resources} }, 2);
    delete $r->{guests}->{$_} for grep { $_ ne '201' } keys %{ $r->{guests} };
    delete $r->{ha};
});
