package PVE::Balancer::History;

# The record of balancing runs in pmxcfs (/etc/pve/balancer/runs.json): every run with its
# options, plan, outcome and timestamps, newest first, the last N kept. GET /cluster/balance
# shows it; pve-balancerd reads it for its cool-down.

use strict;
use warnings;

use JSON;

my $runs_file = 'balancer/runs.json';

# pmxcfs files should stay small; older runs are dropped first when the list grows beyond this.
my $max_bytes = 512 * 1024;

=head3 read_runs($env)

All recorded runs, newest first. A missing or unreadable file is an empty history.

=cut

sub read_runs {
    my ($env) = @_;

    my $raw = $env->read_cfs_file($runs_file);
    return [] if !defined($raw) || $raw !~ m/\S/;

    my $runs = eval { JSON->new->decode($raw) };
    if (my $err = $@) {
        $env->log('warn', "ignoring unreadable /etc/pve/$runs_file - $err");
        return [];
    }
    return ref($runs) eq 'ARRAY' ? $runs : [];
}

=head3 record($env, $run, $keep)

Stores C<$run> (replacing the entry with the same C<id>, or as the newest one), keeps the
newest C<$keep> runs and writes the file under the cluster lock C<runs>. The file is replaced
as a whole (written next to it, then renamed), so a reader never sees half a record.

=cut

sub record {
    my ($env, $run, $keep) = @_;

    $keep //= 20;

    $env->cfs_lock(
        'runs',
        10,
        sub {
            my $runs = read_runs($env);
            my $replaced = 0;
            for my $i (0 .. $#$runs) {
                next if ($runs->[$i]->{id} // '') ne $run->{id};
                $runs->[$i] = $run;
                $replaced = 1;
                last;
            }
            unshift @$runs, $run if !$replaced;
            splice(@$runs, $keep) if @$runs > $keep;

            my $json = JSON->new->canonical->utf8;
            my $raw = $json->encode($runs);
            while (length($raw) > $max_bytes && @$runs > 1) {
                pop @$runs;
                $raw = $json->encode($runs);
            }
            $env->write_cfs_file($runs_file, $raw);
        },
    );
}

=head3 count($run)

Sets the counters of C<$run> from its per-migration list, so they always add up: C<planned>
(every step), C<moved> (ok, or already there), C<failed> (failed or timed out), C<skipped>,
C<not-started> (not started, or still pending) and C<running> (started, end not seen yet).

=cut

my $counted = {
    ok => 'moved',
    already => 'moved',
    failed => 'failed',
    timeout => 'failed',
    skipped => 'skipped',
    'not-started' => 'not-started',
    pending => 'not-started',
    running => 'running',
};

sub count {
    my ($run) = @_;

    my %n = map { $_ => 0 } qw(moved failed skipped not-started running);
    for my $m (@{ $run->{migrations} // [] }) {
        my $what = $counted->{ $m->{result} // 'pending' } // 'failed';
        $n{$what}++;
    }
    $run->{$_} = $n{$_} for keys %n;
    $run->{planned} = scalar(@{ $run->{migrations} // [] });
    return $run;
}

=head3 find($env, $id)

The recorded run C<$id>, or undef.

=cut

sub find {
    my ($env, $id) = @_;

    my ($run) = grep { ($_->{id} // '') eq $id } @{ read_runs($env) };
    return $run;
}

=head3 summary($run)

The short form of a run for the status view: everything but the per-migration list.

=cut

sub summary {
    my ($run) = @_;

    my $res = { map { $_ => $run->{$_} } grep { $_ ne 'migrations' } keys %$run };
    return $res;
}

1;
