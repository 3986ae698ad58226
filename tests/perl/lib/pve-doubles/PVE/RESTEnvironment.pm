package PVE::RESTEnvironment;

# Test double of pve-common's PVE::RESTEnvironment: the per-process environment singleton
# (init/get), the user and credentials of the request, log_warn and fork_worker.
#
# fork_worker does not fork: it runs the worker code at once, in-process, with STDOUT and
# STDERR captured as the task log, ends the log with "TASK OK", "TASK WARNINGS: N" or
# "TASK ERROR: ..." like the real worker, and returns a UPID of the real format. While the
# worker runs, the simulated cluster (if any) knows the task as running.

use strict;
use warnings;

use base 'Exporter';
our @EXPORT_OK = qw(log_warn);

my $env;
my $task_counter = 0;

sub init {
    my ($class, $type, %params) = @_;

    $class = ref($class) || $class;
    die "unknown environment type '$type'\n" if !grep { $_ eq $type } qw(cli pub priv ha);

    $env = bless {
        type => $type,
        warning_count => 0,
        user => undef,
        credentials => undef,
        tasks => {},
        %params,
    }, $class;

    return $env;
}

sub get {
    return $env;
}

sub set_user {
    my ($self, $user) = @_;
    $self->{user} = $user;
}

sub get_user {
    my ($self, $noerr) = @_;

    return $self->{user} if defined($self->{user}) || $noerr;
    die "user name not set\n";
}

sub set_credentials {
    my ($self, $credentials) = @_;
    $self->{credentials} = $credentials;
}

sub get_credentials {
    my ($self) = @_;
    return $self->{credentials};
}

sub is_worker {
    return $env && $env->{in_worker} ? 1 : 0;
}

sub log_warn {
    my ($message) = @_;

    $env->{warning_count}++ if $env;
    chomp $message;
    print STDERR "WARN: $message\n";
}

my sub nodename {
    my $sim = eval { PVEBalancerTest::SimCluster->current() };
    return $sim ? $sim->{nodename} : 'localhost';
}

sub fork_worker {
    my ($self, $dtype, $id, $user, $function, $background) = @_;

    $dtype //= 'unknown';
    $id //= '';
    $user //= $self->get_user(1) // 'root@pam';

    my $sim = eval { PVEBalancerTest::SimCluster->current() };
    my $now = $sim ? $sim->{time} : time();
    my $pid = 40000 + ++$task_counter;
    my $upid = sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:",
        nodename(), $pid, 1000 + $task_counter, $now, $dtype, $id, $user);

    $sim->register_task($upid, running => 1, type => $dtype) if $sim;

    my $log = '';
    my $err;
    {
        local $self->{in_worker} = 1;
        local $self->{warning_count} = 0;
        local *STDOUT;
        local *STDERR;
        open(STDOUT, '>>', \$log) or die "capture failed - $!\n";
        open(STDERR, '>>', \$log) or die "capture failed - $!\n";
        local $SIG{__WARN__} = sub { print STDERR $_[0] };

        eval { $function->($upid) };
        $err = $@;
        if ($err) {
            chomp $err;
            $err =~ s/\n/ /g;
            print "TASK ERROR: $err\n";
        } elsif (my $warnings = $self->{warning_count}) {
            print "TASK WARNINGS: $warnings\n";
        } else {
            print "TASK OK\n";
        }
        close(STDOUT);
        close(STDERR);
    }

    my ($status) = $log =~ m/^TASK (OK|ERROR: .*|WARNINGS: \d+)$/m;
    $status =~ s/^ERROR: // if $status;
    $self->{tasks}->{$upid} = { log => $log, status => $status, type => $dtype, id => $id };
    $sim->finish_task($upid, $status) if $sim;

    return $upid;
}

=head3 task_log($upid)

Test helper: the captured log of a worker started with fork_worker.

=cut

sub task_log {
    my ($self, $upid) = @_;
    return $self->{tasks}->{$upid} ? $self->{tasks}->{$upid}->{log} : undef;
}

sub check_worker {
    my ($class, $upid, $killit) = @_;

    my $sim = eval { PVEBalancerTest::SimCluster->current() } or return 0;
    my $task = $sim->{tasks}->{$upid} or return 0;
    return $task->{running} ? 1 : 0 if !$killit;
    $sim->stop_task($upid) if $task->{running};
    return 1;
}

1;
