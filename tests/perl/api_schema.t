#!/usr/bin/perl
# The API's JSON schemas: every method is fully described (parameters with
# additionalProperties => 0, returns, permissions, description), bad input is refused with an
# HTTP 400 PVE::Exception whose 'errors' name the field, engine errors that name an argument
# become such errors too, and results match the return schemas (every call in these tests
# runs with result verification).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use Test::More;

use PVE::Balancer::APIRegister;
use PVE::Balancer::Config;
use PVE::Tools;

my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');

sub call {
    return PVEBalancerTest::API::call(@_);
}

# Runs a call that must fail; returns the exception.
sub fails {
    my (@args) = @_;
    my $res = eval { call(@args) };
    return $@;
}

my @methods = (
    ['GET', '/cluster/balance', 'status'],
    ['POST', '/cluster/balance', 'balance'],
    ['POST', '/cluster/balance/evacuate', 'evacuate'],
    ['GET', '/cluster/balance/capacity', 'capacity'],
    ['GET', '/cluster/balance/failover', 'failover'],
    ['GET', '/cluster/balance/place', 'place'],
    ['GET', '/cluster/balance/config', 'get_config'],
    ['PUT', '/cluster/balance/config', 'set_config'],
    ['GET', '/cluster/balance/snapshot', 'snapshot'],
);

for my $m (@methods) {
    my ($method, $path, $name) = @$m;
    my $info = PVEBalancerTest::API::handler_info($method, $path);
    ok($info, "$method $path is registered") or next;
    is($info->{name}, $name, "$method $path: name $name");
    ok($info->{description}, "$name: description");
    is($info->{parameters}->{additionalProperties}, 0, "$name: additionalProperties => 0");
    ok($info->{returns}, "$name: return schema");
    ok($info->{permissions} && ($info->{permissions}->{check} || $info->{permissions}->{user}),
        "$name: permissions");
    for my $p (sort keys %{ $info->{parameters}->{properties} }) {
        my $s = $info->{parameters}->{properties}->{$p};
        ok($s->{description}, "$name: parameter $p is described") or last;
    }
}

# every key of balancer.cfg is an API parameter of PUT config, every engine option one of POST
{
    my $put = PVEBalancerTest::API::handler_info('PUT', '/cluster/balance/config');
    my $post = PVEBalancerTest::API::handler_info('POST', '/cluster/balance');
    my $schema = PVE::Balancer::Config::config_schema();
    is_deeply([grep { !$put->{parameters}->{properties}->{$_} } sort keys %$schema], [],
        'PUT config takes every key');
    is_deeply(
        [grep { !$post->{parameters}->{properties}->{$_} }
            @{ PVE::Balancer::Config::engine_option_names() }],
        [], 'POST takes every engine option',
    );
    is_deeply(PVE::Balancer::Config::engine_option_names(),
        [sort map { $_->{key} } grep { $_->{scope} eq 'engine' }
            @{ PVE::Balancer::Native::option_schema() }],
        'the engine options are those of the engine\'s schema');
    is_deeply([sort keys %$schema], [sort map { $_->{key} } @{ PVE::Balancer::Native::option_schema() }],
        'balancer.cfg keys are exactly the engine schema\'s');
}

# GET calls that read RRD history run in pvedaemon (protected), as upstream's rrddata calls;
# the what-if search is bounded
{
    for my $m (['GET', '/cluster/balance'], ['GET', '/cluster/balance/capacity'],
        ['GET', '/cluster/balance/failover'], ['GET', '/cluster/balance/place'],
        ['GET', '/cluster/balance/snapshot']) {
        ok(PVEBalancerTest::API::handler_info(@$m)->{protected}, "$m->[0] $m->[1] is protected");
    }
    my $cap = PVEBalancerTest::API::handler_info('GET', '/cluster/balance/capacity');
    cmp_ok($cap->{parameters}->{properties}->{'max-scenarios'}->{maximum}, '<=', 100_000,
        'max-scenarios is bounded');
}

# schema errors: HTTP 400, the field named
my @bad = (
    ['POST', '/cluster/balance', { 'max-migrations' => 'ten' }, 'max-migrations',
        qr/type check \('integer'\) failed/],
    ['POST', '/cluster/balance', { 'max-migrations' => -1 }, 'max-migrations',
        qr/minimum value of 0/],
    ['POST', '/cluster/balance', { 'cpu-limit' => 2 }, 'cpu-limit', qr/maximum value of 1/],
    ['POST', '/cluster/balance', { mode => 'fast' }, 'mode', qr/enumeration 'used, static, assigned'/],
    ['POST', '/cluster/balance', { 'memory-reserve' => '1 GB' }, 'memory-reserve',
        qr/^expected a size in bytes .*got "1 GB"$/],
    ['POST', '/cluster/balance', { 'max-migrations' => '0x10' }, 'max-migrations',
        qr/type check|expected an integer/],
    ['POST', '/cluster/balance', { threshold => '5abc' }, 'threshold',
        qr/type check|expected a number/],
    ['POST', '/cluster/balance', { apply => 'yes' }, 'apply', qr/type check \('boolean'\)/],
    ['POST', '/cluster/balance', { 'on-failure' => 'retry' }, 'on-failure', qr/enumeration/],
    ['POST', '/cluster/balance', { digest => 'xyz' }, 'digest', qr/regex pattern/],
    ['POST', '/cluster/balance', { bogus => 1 }, 'bogus', qr/not defined in schema/],
    ['POST', '/cluster/balance', { 'storage-map' => 'local-zfs' }, 'storage-map',
        qr/^expected storage pairs/],
    ['POST', '/cluster/balance/evacuate', {}, 'node', qr/property is missing/],
    ['POST', '/cluster/balance/evacuate', { node => 'pve 1!' }, 'node', qr/invalid format/],
    ['GET', '/cluster/balance/capacity', { 'target-failures' => 0 }, 'target-failures',
        qr/minimum value of 1/],
    ['GET', '/cluster/balance/failover', {}, 'failed-node', qr/property is missing/],
    ['GET', '/cluster/balance/place', { vmid => 42 }, 'vmid', qr/minimum value of 100|format/],
    ['GET', '/cluster/balance/place', { mem => 'lots', cpu => 1 }, 'mem', qr/regex pattern/],
    ['GET', '/cluster/balance', { runs => 1000 }, 'runs', qr/maximum value of 200/],
    ['PUT', '/cluster/balance/config', { interval => 0 }, 'interval', qr/minimum value of 1/],
    ['PUT', '/cluster/balance/config', { 'ha-scheduler' => 'fancy' }, 'ha-scheduler',
        qr/enumeration 'compatible, capacity-aware'/],
    ['GET', '/cluster/balance/snapshot', { kind => 'all' }, 'kind', qr/enumeration/],
);
for my $b (@bad) {
    my ($method, $path, $param, $field, $re) = @$b;
    my $err = fails($method, $path, $param);
    my $what = "$method $path " . join(',', map { "$_=$param->{$_}" } sort keys %$param);
    isa_ok($err, 'PVE::Exception', $what) or next;
    is($err->{code}, 400, "$what: HTTP 400");
    like($err->{errors}->{$field} // '', $re, "$what: error names '$field'");
}

# semantic parameter errors, raised by the handler or mapped from the engine
my @semantic = (
    ['GET', '/cluster/balance/place', {}, { cpu => qr/required/, mem => qr/required/ }],
    ['GET', '/cluster/balance/place', { vmid => 201, cpu => 2 }, { vmid => qr/either/ }],
    ['GET', '/cluster/balance/place', { vmid => 999 }, { vmid => qr/no guest 999/ }],
    ['POST', '/cluster/balance/evacuate', { node => 'nosuch' },
        { node => qr/unknown node "nosuch"/ }],
    ['GET', '/cluster/balance/failover', { 'failed-node' => 'nosuch' },
        { 'failed-node' => qr/unknown node/ }],
    ['POST', '/cluster/balance', { 'maintenance-nodes' => 'nosuch' },
        { 'maintenance-nodes' => qr/unknown node/ }],
    ['PUT', '/cluster/balance/config', { delete => 'nokey' }, { delete => qr/unknown key/ }],
    ['PUT', '/cluster/balance/config', { auto => 1, delete => 'auto' },
        { auto => qr/cannot set and delete/ }],
    ['PUT', '/cluster/balance/config', {}, { delete => qr/nothing to change/ }],
);
for my $s (@semantic) {
    my ($method, $path, $param, $fields) = @$s;
    my $err = fails($method, $path, $param);
    my $what = "$method $path " . join(',', map { "$_=$param->{$_}" } sort keys %$param);
    isa_ok($err, 'PVE::Exception', $what) or next;
    is($err->{code}, 400, "$what: HTTP 400");
    for my $f (sort keys %$fields) {
        like($err->{errors}->{$f} // '', $fields->{$f}, "$what: error names '$f'");
    }
}

# a balancer.cfg with unknown keys or bad values: reported, never fatal, kept on PUT; apply refused
{
    my $cfs = $PVE::Balancer::Env::default_args->{cfs_root};
    PVE::Tools::file_set_contents("$cfs/balancer.cfg",
        "# test\nmax-migrations: 5\nmax-migratoins: 3\nha-imbalance: normalized\n");
    my $cfg = call('GET', '/cluster/balance/config', {});
    is($cfg->{'max-migrations'}, 5, 'known keys read');
    is($cfg->{'ha-imbalance'}, 'normalized', 'every key documented in docs/ is accepted');
    is_deeply($cfg->{unknown}, { 'max-migratoins' => '3' }, 'unknown key kept and shown');
    like($cfg->{warnings}->[0], qr/unknown key 'max-migratoins'/, 'and warned about');
    my $status = call('GET', '/cluster/balance', {});
    like(join("\n", @{ $status->{'config-warnings'} }), qr/max-migratoins/, 'status warns too');

    call('PUT', '/cluster/balance/config', { auto => 1 });
    like(PVE::Tools::file_get_contents("$cfs/balancer.cfg"), qr/^max-migratoins: 3$/m,
        'PUT keeps the unknown key');
    call('PUT', '/cluster/balance/config', { delete => 'max-migratoins' });
    unlike(PVE::Tools::file_get_contents("$cfs/balancer.cfg"), qr/max-migratoins/,
        'delete removes an unknown key');

    PVE::Tools::file_set_contents("$cfs/balancer.cfg", "max-migrations: many\nauto: 1\n");
    $cfg = call('GET', '/cluster/balance/config', {});
    is_deeply($cfg->{errors}, [{ line => 1, key => 'max-migrations',
        message => 'expected an integer from 0 to 100000, got "many"' }],
        'bad value reported with its line');
    is($cfg->{auto}, 1, 'the rest is read');
    $status = call('GET', '/cluster/balance', {});
    like(join("\n", @{ $status->{errors} // [] }), qr/balancer\.cfg line 1: max-migrations: expected an integer/,
        'status reports the bad line');
    my $plan = call('POST', '/cluster/balance', {});
    ok(grep({ m/configuration error: .*max-migrations/ } @{ $plan->{notes} }), 'dry run works, with a note');
    my $err = fails('POST', '/cluster/balance', { apply => 1 });
    is(ref($err) && $err->{code}, 400, 'apply refused: 400');
    like("$err", qr/refusing to apply: \/etc\/pve\/balancer\.cfg has errors .*line 1: max-migrations/,
        'with a clear message');
    call('PUT', '/cluster/balance/config', { interval => 30 });
    like(PVE::Tools::file_get_contents("$cfs/balancer.cfg"), qr/^max-migrations: many$/m,
        'PUT of another key keeps the bad line as written');
    call('PUT', '/cluster/balance/config', { 'max-migrations' => 4 });
    $cfg = call('GET', '/cluster/balance/config', {});
    ok(!$cfg->{errors} && $cfg->{'max-migrations'} == 4, 'setting the key repairs it');
    unlink("$cfs/balancer.cfg");
}

# defaults shown by the API are the engine's
{
    my $cfg = call('GET', '/cluster/balance/config', { defaults => 1 });
    my %engine = map { $_->{key} => $_ } @{ PVE::Balancer::Native::option_schema() };
    for my $key (sort keys %engine) {
        next if !defined($engine{$key}->{'default-text'});
        my $want = $engine{$key}->{default};
        $want = $want ? 1 : 0 if JSON::is_bool($want);
        is($cfg->{$key}, $want, "default of $key is the engine's");
    }
    is($cfg->{'min-improvement'}, 0.02, 'min-improvement 0.02');
    is($cfg->{'cost-weight'}, 0.04, 'cost-weight 0.04');
}

# results match the return schemas (result verification is on in PVEBalancerTest::API)
for my $c (
    ['GET', '/cluster/balance', {}],
    ['POST', '/cluster/balance', {}],
    ['POST', '/cluster/balance/evacuate', { node => 'pve2' }],
    ['GET', '/cluster/balance/capacity', { 'target-failures' => 2 }],
    ['GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' }],
    ['GET', '/cluster/balance/place', { cpu => 2, mem => '4G', tags => 'pvebal-pin-pve2' }],
    ['GET', '/cluster/balance/place', { vmid => 201 }],
    ['GET', '/cluster/balance/config', { defaults => 1 }],
    ['GET', '/cluster/balance/snapshot', { kind => 'raw' }],
) {
    my ($method, $path, $param) = @$c;
    my $res = eval { call($method, $path, $param) };
    is($@, '', "$method $path: result matches its return schema");
}

done_testing();
