package PVE::Balancer::Backup;

# Which guests are in or near their scheduled backup, so automatic balancing leaves them alone:
# a migration that holds the guest's 'migrate' lock when vzdump reaches it fails that guest's
# backup, and a guest moved off the node of a node-bound job misses it.
#
# The backup jobs are the 'vzdump' sections of /etc/pve/jobs.cfg (pve-manager PVE/Jobs.pm,
# PVE/Jobs/VZDump.pm; the file is a PVE::SectionConfig: "TYPE: ID" then indented "KEY VALUE"
# lines). A job is due at the events of its 'schedule' (a calendar event, PVE::CalendarEvent in
# pve-common; computed through the Env façade) unless 'enabled' is 0. The guests of a job are
# chosen as pve-manager's PVE::VZDump::get_included_guests does: the members of 'pool', else the
# 'vmid' list, else with 'all' every guest but those in 'exclude'; with 'node' only the guests on
# that node (a job without 'node' runs on every node, each backing up its own guests).
#
# A guest counts as in its backup from 'backup-guard' minutes before an event of one of its jobs
# until 'backup-duration' minutes after it (vzdump works through a node's guests one by one, so
# the last ones start long after the event).

use strict;
use warnings;

=head3 parse_jobs_cfg($raw)

The sections of jobs.cfg as C<{ID => {type, KEY => VALUE, ...}}>, read like
PVE::SectionConfig::parse_config reads them (header C<TYPE: ID>, then property lines that
start with white space, a blank line ends a section, C<#> starts a comment). Sections it cannot
read are skipped; returns also a list of the problems.

=cut

sub parse_jobs_cfg {
    my ($raw) = @_;

    my $res = {};
    my $errors = [];
    my $current;
    my $lineno = 0;
    for my $line (split(/\n/, $raw // '')) {
        $lineno++;
        next if $line =~ m/^\s*#/;
        if ($line =~ m/^\s*$/) {
            $current = undef;
            next;
        }
        if ($line =~ m/^(\S+):\s*(\S+)\s*$/) {
            my ($type, $id) = ($1, $2);
            $current = $res->{$id} = { type => $type };
            next;
        }
        if ($current && $line =~ m/^\s+(\S+)(?:\s+(.*\S))?\s*$/) {
            $current->{$1} = $2 // '';
            next;
        }
        push @$errors, "jobs.cfg line $lineno: cannot read '$line'";
    }
    return ($res, $errors);
}

my sub split_list {
    my ($text) = @_;
    return grep { length } split(/[,;\s]+/, $text // '');
}

=head3 job_guests($job, $guests, $pools)

The vmids a vzdump job includes (see the top of this file): C<$guests> maps vmid =E<gt> node,
C<$pools> pool name =E<gt> list of vmids. Sorted.

=cut

sub job_guests {
    my ($job, $guests, $pools) = @_;

    my @vmids;
    if (defined($job->{pool}) && length($job->{pool})) {
        @vmids = @{ $pools->{ $job->{pool} } // [] };
    } elsif (defined($job->{vmid}) && length($job->{vmid})) {
        @vmids = split_list($job->{vmid});
    } elsif ($job->{all}) {
        my %exclude = map { $_ => 1 } split_list($job->{exclude});
        @vmids = grep { !$exclude{$_} } keys %$guests;
    }
    my %seen;
    my @res;
    for my $vmid (@vmids) {
        next if $vmid !~ m/^\d+$/ || $seen{$vmid}++;
        my $node = $guests->{$vmid} // next;
        next if defined($job->{node}) && length($job->{node}) && $job->{node} ne $node;
        push @res, 0 + $vmid;
    }
    return [sort { $a <=> $b } @res];
}

=head3 guarded($env, $snapshot, $eff)

The guests automatic balancing must not move because of a backup, as
C<{vmid => reason}>, and a list of problems (unreadable jobs or schedules). C<$eff> is the
effective configuration (C<backup-guard>, C<backup-duration>); nothing with C<backup-guard> 0.

=cut

sub guarded {
    my ($env, $snapshot, $eff) = @_;

    my $guard = ($eff->{'backup-guard'} // 0) * 60;
    return ({}, []) if !$guard;
    my $duration = ($eff->{'backup-duration'} // 180) * 60;

    my ($jobs, $problems) = parse_jobs_cfg($env->read_cfs_file('jobs.cfg'));
    my $guests = {};
    my $pools = {};
    for my $e (@{ $snapshot->{resources} // [] }) {
        next if !defined($e->{vmid}) || ($e->{type} // '') !~ m/^(?:qemu|lxc)$/;
        my $vmid = 0 + $e->{vmid};
        $guests->{$vmid} = $e->{node};
        push @{ $pools->{ $e->{pool} } }, $vmid if defined($e->{pool}) && length($e->{pool});
    }

    my $now = $env->get_time();
    my $res = {};
    for my $id (sort keys %$jobs) {
        my $job = $jobs->{$id};
        next if $job->{type} ne 'vzdump';
        next if defined($job->{enabled}) && !$job->{enabled};
        my $schedule = $job->{schedule};
        if (!defined($schedule) || $schedule !~ m/\S/) {
            push @$problems, "backup job $id has no schedule";
            next;
        }
        # the first event after (now - duration): a backup still running or one due soon
        my $next = eval { $env->next_calendar_event($schedule, $now - $duration) };
        if (my $err = $@) {
            chomp $err;
            push @$problems, "backup job $id: schedule '$schedule': $err";
            next;
        }
        next if !defined($next) || $next > $now + $guard;
        my $when = $next <= $now
            ? "started " . int(($now - $next) / 60) . " min ago"
            : "due in " . int(($next - $now + 59) / 60) . " min";
        for my $vmid (@{ job_guests($job, $guests, $pools) }) {
            $res->{$vmid} //= "backup job $id ($schedule) $when";
        }
    }
    return ($res, $problems);
}

1;
