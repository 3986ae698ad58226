#!/usr/bin/perl
# PVE::Balancer::Native's view of the one option schema: option_schema() is the CLI's table,
# parse_config() reads balancer.cfg without ever dying on its content, normalize_option() is
# strict and names the key.
use strict;
use warnings;
use Test::More;
use JSON ();

require './tests/perl/helpers.pl';
our $CLI;
use PVE::Balancer::Native;

my $schema = PVE::Balancer::Native::option_schema();
my $cli = JSON::decode_json(`$CLI options --output-format json`);
is_deeply($schema, $cli, 'option_schema() is what the CLI prints');
my %by_key = map { $_->{key} => $_ } @$schema;
ok($by_key{'ha-imbalance'}, 'keys documented in docs/ha.md are in the schema');
is($by_key{'min-improvement'}{default}, 0.02, 'min-improvement default is the engine\'s');
$schema->[0]{key} = 'changed';
is(PVE::Balancer::Native::option_schema()->[0]{key}, $cli->[0]{key}, 'a fresh copy each call');

my $cfg = PVE::Balancer::Native::parse_config(<<'CFG');
# written by a newer version
auto: 1
interval: 15
ha-imbalance: normalized
some-future-key: 42
max-migrations: lots
mode: assigned
CFG
is_deeply($cfg->{values}, { auto => '1', interval => '15', 'ha-imbalance' => 'normalized', mode => 'static' },
    'valid keys, canonical values');
is_deeply($cfg->{unknown}, { 'some-future-key' => '42' }, 'unknown keys kept');
is_deeply($cfg->{errors}, [{ line => 6, key => 'max-migrations',
    message => 'expected an integer from 0 to 100000, got "lots"' }], 'bad value reported with its line');
is_deeply(PVE::Balancer::Native::parse_config(undef),
    { values => {}, unknown => {}, errors => [], duplicates => [] }, 'no file: nothing set');

is(PVE::Balancer::Native::normalize_option('auto', 'yes'), '1', 'normalize: boolean');
is(PVE::Balancer::Native::normalize_option('max-migrations', 7), '7', 'normalize: a Perl number');
eval { PVE::Balancer::Native::normalize_option('max-migrations', '0x10') };
is($@, "max-migrations: expected an integer from 0 to 100000, got \"0x10\"\n", 'strict, names the key');
eval { PVE::Balancer::Native::normalize_option('no-such-key', '1') };
is($@, "no-such-key: unknown option\n", 'unknown key');
eval { PVE::Balancer::Native::normalize_option('auto', undef) };
like($@, qr/^auto: expected a string, got undef$/, 'undef value');

done_testing();
