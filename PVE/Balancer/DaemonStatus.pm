package PVE::Balancer::DaemonStatus;

# The 'daemon' object of GET /cluster/balance: what pve-balancerd and its cycles are doing, in
# the shape the web UI renders (docs/ui.md). Built from
#
#   /etc/pve/balancer/daemon.json    the cluster summary the active daemon writes
#                                    (docs/daemon.md): active node, members, running, last
#                                    and next cycle
#   /run/pve-balancerd/status.json   this node's daemon (through Env::daemon_local_status)
#   /etc/pve/balancer/manager.json   what each cycle decided and why, guests in cooldown
#                                    (PVE::Balancer::Manager::Knowledge)
#
# Without either status file the object is absent: the daemon is not installed or not running.

use strict;
use warnings;

use JSON;

use PVE::Balancer::Manager::Knowledge;

my $summary_file = 'balancer/daemon.json';

my sub num {
    my ($v) = @_;
    return defined($v) && !ref($v) && $v =~ m/^-?\d+(?:\.\d+)?$/ ? 0 + $v : undef;
}

my sub text_of_result {
    my ($last) = @_;

    my $result = $last->{result} // 'unknown';
    my $text = "cycle ended: $result";
    $text .= " (exit code $last->{'exit-code'})" if defined($last->{'exit-code'});
    $text .= " (signal $last->{signal})" if defined($last->{signal});
    $text .= ", stopped: $last->{stopped}" if defined($last->{stopped});
    return $text;
}

=head3 build($env, %opts)

The C<daemon> object, or undef when no daemon status exists. C<now> defaults to the
environment's time.

=cut

sub build {
    my ($env, %opts) = @_;

    my $now = $opts{now} // $env->get_time();
    my $summary;
    my $raw = eval { $env->read_cfs_file($summary_file) };
    if (defined($raw) && $raw =~ m/\S/) {
        $summary = eval { JSON->new->decode($raw) };
        $summary = undef if ref($summary) ne 'HASH';
    }
    my $local = eval { $env->daemon_local_status() };
    return undef if !$summary && !$local;

    my $res = {};
    my $active = ($summary // {})->{active} // ($local // {})->{active};
    $res->{'active-node'} = $active->{node} if ref($active) eq 'HASH' && $active->{node};
    $res->{'active-since'} = num($active->{since}) if ref($active) eq 'HASH' && $active->{since};

    my $nodes = [];
    if ($summary && ref($summary->{nodes}) eq 'HASH') {
        for my $name (sort keys %{ $summary->{nodes} }) {
            my $n = $summary->{nodes}->{$name};
            next if ref($n) ne 'HASH';
            my $e = { node => $name, state => $n->{role} // 'unknown' };
            $e->{quorate} = $n->{quorate} ? 1 : 0 if defined($n->{quorate});
            $e->{version} = $n->{version} if defined($n->{version});
            if (ref($n->{pressure}) eq 'HASH' && ref($n->{pressure}->{high}) eq 'ARRAY') {
                $e->{pressure} = [@{ $n->{pressure}->{high} }] if @{ $n->{pressure}->{high} };
            }
            push @$nodes, $e;
        }
    } elsif ($local && ref($local->{members}) eq 'ARRAY') {
        for my $m (sort { ($a->{node} // '') cmp($b->{node} // '') } @{ $local->{members} }) {
            next if ref($m) ne 'HASH' || !defined($m->{node});
            push @$nodes, { node => $m->{node}, state => $m->{role} // 'unknown' };
        }
    }
    $res->{nodes} = $nodes;

    if ($local) {
        my $this = { node => $local->{node}, state => $local->{stale} ? 'not running'
            : $local->{role} // 'unknown' };
        my $cfg = $local->{config};
        $this->{'config-error'} = $cfg->{error}
            if ref($cfg) eq 'HASH' && defined($cfg->{error});
        $res->{'this-node'} = $this;
        # a node whose daemon is not in the quorate partition says so itself
        if (!grep { $_->{node} eq ($local->{node} // '') } @$nodes) {
            push @$nodes, { node => $local->{node}, state => $this->{state} }
                if defined($local->{node});
            $res->{nodes} = [sort { $a->{node} cmp $b->{node} } @$nodes];
        }
    }

    my $k = PVE::Balancer::Manager::Knowledge::read($env);
    my $src = $summary // $local // {};

    if (ref($src->{cycle}) eq 'HASH') {
        my $cy = $src->{cycle};
        $res->{running} = {
            map { defined($cy->{$_}) ? ($_ => $cy->{$_}) : () }
                qw(id node trigger detail started state)
        };
    }

    my $last = ref($src->{'last-cycle'}) eq 'HASH' ? $src->{'last-cycle'} : undef;
    my $known = $last ? PVE::Balancer::Manager::Knowledge::cycle($k, $last->{id}) : undef;
    $known //= $k->{cycles}->[0] if !$last;
    if ($last || $known) {
        my $lc = {};
        if ($last) {
            $lc->{$_} = $last->{$_} for grep { defined($last->{$_}) }
                qw(id node trigger detail result exit-code signal stopped);
            $lc->{started} = num($last->{started});
            $lc->{finished} = num($last->{finished});
        }
        if ($known) {
            $lc->{$_} //= $known->{$_} for grep { defined($known->{$_}) }
                qw(id node trigger detail started finished);
            $lc->{decision} = $known->{decision} if defined($known->{decision});
            $lc->{why} = $known->{why} if defined($known->{why});
            $lc->{$_} = $known->{$_} for grep { defined($known->{$_}) }
                qw(planned moved failed run);
        }
        $lc->{why} //= text_of_result($lc) if $last;
        $lc->{time} = $lc->{finished} // $lc->{started};
        delete $lc->{$_} for grep { !defined($lc->{$_}) } keys %$lc;
        $res->{'last-cycle'} = $lc;
    }

    my $next = $src->{'next-cycle'};
    if (ref($next) eq 'HASH' && defined($next->{due})) {
        $res->{'next-cycle'} = { time => num($next->{due}), trigger => $next->{trigger} };
    }

    my $cooldown = [];
    for my $vmid (sort { $a <=> $b } keys %{ $k->{guests} }) {
        my $g = $k->{guests}->{$vmid};
        my $until = num($g->{until}) // next;
        next if $until <= $now;
        my $e = { vmid => 0 + $vmid, until => $until, level => num($g->{level}) // 1 };
        if (my $m = $g->{moves}->[-1]) {
            $e->{from} = $m->{from};
            $e->{to} = $m->{to};
        }
        $e->{failures} = num($g->{failures}) if $g->{failures};
        push @$cooldown, $e;
    }
    $res->{cooldown} = $cooldown;
    $res->{updated} = num($src->{updated}) if defined($src->{updated});

    return $res;
}

1;
