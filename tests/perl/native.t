#!/usr/bin/perl
# PVE::Balancer::Native round trips: every call on the bundled snapshots, JSON text and Perl
# data give the same answer, and the answer equals the CLI's --output-format json output.
use strict;
use warnings;
use Test::More;
use JSON ();

require './tests/perl/helpers.pl';
our $CLI;
use PVE::Balancer::Native;

my $json = JSON->new->utf8;

my $v = PVE::Balancer::Native::version();
like($v, qr/^\d+\.\d+\.\d+$/, 'version() is a version number');
my $cli_version = `$CLI version`;
is("pve-balancer $v\n", $cli_version, 'version() matches the CLI');

# [command, Perl args, CLI flags]
my %cases = (
    'docs/examples/demo-cluster.json' => [
        ['score', [], []],
        ['plan', [], []],
        ['plan', ['max-migrations' => 3, threshold => 0.01], ['--max-migrations', 3, '--threshold', 0.01]],
        ['evacuate', [node => 'pve2'], ['--node', 'pve2']],
        ['evacuate', [node => ['pve2', 'pve4']], ['--node', 'pve2,pve4']],
        ['failover', ['failed-node' => 'pve2'], ['--failed-node', 'pve2']],
        ['failover', ['failed-node' => ['pve1', 'pve3'], 'all-guests' => 1], ['--failed-node', 'pve1,pve3', '--all-guests']],
        ['capacity', [], []],
        ['capacity', ['target-failures' => 2], ['--target-failures', 2]],
        ['capacity', ['target-failures' => 2, 'all-guests' => JSON::true], ['--target-failures', 2, '--all-guests']],
        ['place', [cpu => 4, mem => '8G'], ['--cpu', 4, '--mem', '8G']],
        ['place', [vmid => 101], ['--vmid', 101]],
        ['place', [cpu => 2, mem => 2147483648, 'apart-from' => [101, 103]], ['--cpu', 2, '--mem', 2147483648, '--apart-from', '101,103']],
        ['score', [mode => 'static', 'memory-limit' => 0.8], ['--mode', 'static', '--memory-limit', 0.8]],
    ],
    'tests/fixtures/small-extended.json' => [
        ['score', [], []],
        ['plan', [], []],
        ['evacuate', [node => 'n1'], ['--node', 'n1']],
        ['failover', ['failed-node' => 'n1'], ['--failed-node', 'n1']],
        ['failover', ['failed-node' => 'n1', 'all-guests' => 1], ['--failed-node', 'n1', '--all-guests']],
        ['capacity', ['target-failures' => 1], ['--target-failures', 1]],
        ['place', [cpu => 1, mem => '1G'], ['--cpu', 1, '--mem', '1G']],
        ['place', [vmid => 100], ['--vmid', 100]],
    ],
);

for my $file (sort keys %cases) {
    my $text = slurp($file);
    my $data = $json->decode($text);
    for my $case ($cases{$file}->@*) {
        my ($command, $args, $flags) = @$case;
        my $name = "$file: $command @$flags";
        my $from_text = eval { PVE::Balancer::Native::execute($command, $text, @$args) };
        is($@, '', "$name: no error") or next;
        my $from_data = eval { PVE::Balancer::Native::execute($command, $data, @$args) };
        is($@, '', "$name: no error from Perl data") or next;
        is_deeply($from_data, $from_text, "$name: Perl data and JSON text agree");
        my $cli = cli_json($command, $file, @$flags);
        is_deeply($from_text, $cli, "$name: equals the CLI's JSON");
        my $short = do { no strict 'refs'; \&{"PVE::Balancer::Native::$command"} };
        is_deeply($short->($text, @$args), $from_text, "$name: $command() equals execute()");
    }
}

# The {"data": [...]} wrapper and a character string (wide characters) are accepted too.
my $demo = slurp('docs/examples/demo-cluster.json');
my $demo_data = $json->decode($demo);
my $array = $demo_data->{resources};
is(ref($array), 'ARRAY', 'demo resources as an array');
is_deeply(PVE::Balancer::Native::score($array), PVE::Balancer::Native::score({ data => $array }),
    'the plain array and the {"data": [...]} wrapper agree');
is_deeply(PVE::Balancer::Native::score($array),
    PVE::Balancer::Native::score($json->encode($array)), 'the array agrees with its JSON text');
my $chars = $demo;
utf8::decode($chars);
is_deeply(PVE::Balancer::Native::score($chars), PVE::Balancer::Native::score($demo),
    'a Perl character string');

# undef arguments are left out.
is_deeply(PVE::Balancer::Native::plan($demo, 'max-migrations' => undef),
    PVE::Balancer::Native::plan($demo), 'an undef argument is ignored');

# Answers are plain Perl data.
my $score = PVE::Balancer::Native::score($demo);
is(ref($score), 'HASH', 'score() returns a hash');
is($score->{kind}, 'score', 'score kind');
ok(!ref($score->{metrics}{objective}) && $score->{metrics}{objective} > 0, 'objective is a number');

# Repeated calls are stable (no hidden state).
is_deeply(PVE::Balancer::Native::plan($demo), PVE::Balancer::Native::plan($demo), 'plan is deterministic');

done_testing();
